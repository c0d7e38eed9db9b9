"""The role base class and the RoleContext a role sees (and nothing else).

A role never imports the runner, docker or litellm: everything it may use comes through the typed ports of
its context (``sciswarm.agents.ports``), so a custom role stays small and every role can be tested with a
context from ``sciswarm.testing.make_context``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from sciswarm.agents.ports import Flow, IdeaFolder, Lab, Models, NoLab, Thread
from sciswarm.events import Message

if TYPE_CHECKING:
    from sciswarm.agents.prompting import Prompts
    from sciswarm.literature import LiteratureSearch
    from sciswarm.llm import ModelHandle


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


P = TypeVar("P", bound=BaseModel)


@dataclass
class RoleContext(Generic[P]):
    """One role instance's world: its params, model and prompts, and the ports (thread, folder, lab, models,
    literature, flow). ``literature`` is None when searching is off; a swarm without a sandbox has a lab that
    says so when used."""

    role: str
    params: P
    model: ModelHandle
    prompts: Prompts
    thread: Thread
    folder: IdeaFolder
    models: Models | None = None
    lab: Lab = field(default_factory=NoLab)
    literature_port: Callable[[], LiteratureSearch | None] = lambda: None  # made on first use, once per run
    flow: Flow = field(default_factory=Flow)
    template: Path | None = None

    @property
    def literature(self) -> LiteratureSearch | None:
        """The swarm's literature search (None when searching is off); opened when a role first asks."""
        return self.literature_port()

    @property
    def idea_id(self) -> str:
        return self.thread.idea_id

    @property
    def run_id(self) -> str:
        return self.thread.run_id

    @property
    def run_dir(self) -> Path:
        return self.folder.run_dir

    @property
    def idea_dir(self) -> Path:
        return self.folder.path

    @property
    def workspace(self) -> Path:
        return self.folder.workspace

    def model_named(self, name: str) -> ModelHandle:
        """Another model of the swarm (e.g. one per reviewer); names are checked when the config loads."""
        return self.models.named(name) if self.models is not None else self.model

    async def publish(self, message: Message, *, parent: Message | None = None) -> None:
        """Publish on the bus (see Thread.publish)."""
        await self.thread.publish(message, parent=parent)

    def log(self, text: str, level: str = "info") -> None:
        self.thread.log(text, level)


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
