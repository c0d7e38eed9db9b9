"""The role base class and the RoleContext a role sees (and nothing else).

A role never imports the runner, docker or litellm: everything it may use comes through its
context, so a custom role stays small and every role can be tested with a fake context.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from sciswarm.errors import SetupError
from sciswarm.events import Message, Trace

if TYPE_CHECKING:
    from sciswarm.agents.prompting import Prompts
    from sciswarm.llm import ModelHandle
    from sciswarm.sandboxes.base import RunSpec, Sandbox


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


P = TypeVar("P", bound=BaseModel)


@dataclass
class RoleContext(Generic[P]):
    role: str
    run_id: str
    idea_id: str
    params: P
    model: ModelHandle
    prompts: Prompts
    run_dir: Path
    publish_fn: Callable[[Message], Awaitable[None]]
    log_fn: Callable[[str, str], None]
    template: Path | None = None
    sandbox_fn: Callable[[], Sandbox] | None = None
    run_spec_fn: Callable[[list[str]], RunSpec] | None = None
    literature_fn: Callable[[], Any] | None = None  # -> sciswarm.literature.LiteratureSearch | None
    output_fn: Callable[[str, str], None] | None = None
    trace_fn: Callable[[Trace], None] | None = None
    models_fn: Callable[[str], ModelHandle] | None = None  # other models of the swarm, by their `models:` name
    settings: dict[str, Any] = field(default_factory=dict)  # swarm-wide flags (e.g. flow options)

    @property
    def idea_dir(self) -> Path:
        return self.run_dir / "ideas" / self.idea_id

    @property
    def workspace(self) -> Path:
        return self.idea_dir / "workspace"

    @property
    def sandbox(self) -> Sandbox:
        if self.sandbox_fn is None:
            raise SetupError(f"role {self.role}: no sandbox is configured for this swarm")
        return self.sandbox_fn()

    def model_named(self, name: str) -> ModelHandle:
        """Another model of the swarm (e.g. one per reviewer); names are checked when the config loads."""
        if self.models_fn is None:
            return self.model
        return self.models_fn(name)

    @property
    def literature(self) -> Any:
        """The literature search, or None when the swarm disables it."""
        return self.literature_fn() if self.literature_fn is not None else None

    def run_spec(self, argv: list[str]) -> RunSpec:
        if self.run_spec_fn is None:
            raise SetupError(f"role {self.role}: no sandbox is configured for this swarm")
        return self.run_spec_fn(argv)

    async def publish(self, message: Message, *, parent: Message | None = None) -> None:
        """Publish on the bus; run_id, sender and (unless set) idea_id are filled in."""
        message.run_id = self.run_id
        message.sender = self.role
        if message.idea_id == "swarm":
            message.idea_id = self.idea_id
        if parent is not None and message.parent_id is None:
            message.parent_id = parent.id
        await self.publish_fn(message)

    def log(self, text: str, level: str = "info") -> None:
        self.log_fn(level, text)

    def trace(self, event: Trace) -> None:
        """Record a trace event (e.g. a sandbox execution) in the transcript."""
        event.run_id, event.idea_id, event.sender = self.run_id, self.idea_id, self.role
        if self.trace_fn is not None:
            self.trace_fn(event)

    def output(self, stream: str, line: str) -> None:
        """Stream one line of a running command to the live transcript."""
        if self.output_fn is not None:
            self.output_fn(stream, line)


class Role(ABC, Generic[P]):
    """Subclass, set `name`, `subscribes`, `publishes`, optionally `Params`, implement `handle`.

    One instance lives per research thread (idea_id), so instance attributes are per-idea state.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    subscribes: ClassVar[tuple[str, ...]] = ()
    publishes: ClassVar[tuple[str, ...]] = ()
    Params: ClassVar[type[BaseModel]] = NoParams
    model_params: ClassVar[tuple[str, ...]] = ()  # params fields that name models of the swarm (validated)

    def __init__(self, ctx: RoleContext[P]) -> None:
        self.ctx = ctx

    @property
    def params(self) -> P:
        return self.ctx.params

    @abstractmethod
    async def handle(self, message: Message) -> None:
        """React to one message of a subscribed kind."""
