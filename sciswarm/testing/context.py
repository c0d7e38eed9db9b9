"""``make_context``: a RoleContext for unit tests of a role, without a bus, a sandbox or a network.

Everything the role publishes, traces and logs lands in the returned ``Recorder``; its model is scripted
(replies per role, in order), a function, or any ModelClient.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from sciswarm.agents.base import Role, RoleContext
from sciswarm.agents.ports import Flow, IdeaFolder, Lab, Models, NoLab, Thread
from sciswarm.agents.prompting import Prompts
from sciswarm.events import Log, Message, ModelCall, Trace
from sciswarm.ledger import Ledger
from sciswarm.llm import ChatMessage, FunctionClient, ModelClient, ModelHandle, Reply, ScriptedClient

P = TypeVar("P", bound=BaseModel)
ModelLike = ModelClient | list[str] | Callable[[list[ChatMessage]], str | Reply] | None


@dataclass
class Recorder:
    """What a role under test said: messages published, trace events (model calls, execs, logs)."""

    messages: list[Message] = field(default_factory=list)
    traces: list[Trace] = field(default_factory=list)

    def of(self, kind: str) -> list[Message]:
        return [m for m in self.messages if m.kind == kind]

    @property
    def logs(self) -> list[str]:
        return [t.text for t in self.traces if isinstance(t, Log)]

    @property
    def calls(self) -> list[ModelCall]:
        return [t for t in self.traces if isinstance(t, ModelCall)]


def _client(
    model: ModelClient | list[str] | Callable[[list[ChatMessage]], str | Reply] | None, role: str, ledger: Ledger
) -> ModelClient:
    if model is None:
        return ScriptedClient({}, ledger=ledger)
    if isinstance(model, list):
        return ScriptedClient({role: model}, ledger=ledger, source="test")
    if callable(model) and not hasattr(model, "complete"):
        return FunctionClient(model, ledger=ledger)
    return model  # type: ignore[return-value]


def make_context(
    role: type[Role[Any]],
    run_dir: Path,
    *,
    params: dict[str, Any] | BaseModel | None = None,
    model: ModelLike = None,
    vision: ModelLike = None,
    idea_id: str = "idea",
    lab: Lab | None = None,
    literature: Any = None,
    flow: Flow | None = None,
    template: Path | None = None,
    recorder: Recorder | None = None,
) -> tuple[RoleContext[Any], Recorder]:
    """A context for ``role`` in idea ``idea_id`` of a run folder ``run_dir``. ``model``: replies for this role
    (a list), a function of the messages, or a ModelClient; ``vision``: the same for the model that looks at
    images (``ctx.models.vision()``), default: the role's model. Published messages go to the recorder only."""
    rec = recorder or Recorder()
    name = role.name or role.__name__.lower()
    ledger = Ledger(run_id="test", on_call=rec.traces.append)
    client = _client(model, name, ledger)
    vision_client = client if vision is None else _client(vision, name, ledger)

    async def publish(message: Message) -> None:
        rec.messages.append(message)

    def record(event: Trace) -> None:
        event.run_id = event.run_id or "test"
        rec.traces.append(event)

    thread = Thread(run_id="test", idea_id=idea_id, role=name, publish=publish, record=record)
    resolved = params if isinstance(params, BaseModel) else role.Params.model_validate(params or {})
    ctx: RoleContext[Any] = RoleContext(
        role=name,
        params=resolved,
        model=ModelHandle(client, name, idea_id),
        prompts=Prompts.load(name),
        thread=thread,
        folder=IdeaFolder(run_dir, idea_id),
        models=Models(
            lambda _name: ModelHandle(client, name, idea_id),
            ledger,
            vision=lambda: ModelHandle(vision_client, name, idea_id),
        ),
        lab=lab or NoLab(),
        literature_port=lambda: literature,
        flow=flow or Flow(),
        template=template,
    )
    return ctx, rec
