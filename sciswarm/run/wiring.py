"""How one role instance (a role, in one idea's thread) is wired: its context of typed ports, and the handler
the bus calls, which turns the role's failures into RoleFailed messages and records what it handled."""

from __future__ import annotations

import asyncio
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sciswarm.agents.base import RoleContext
from sciswarm.agents.ports import Flow, IdeaFolder, Lab, Models, Thread
from sciswarm.agents.prompting import Prompts
from sciswarm.errors import ERRORS_LOG, ExpectedFailure, describe
from sciswarm.events import Handled, Log, Message, RoleFailed, Trace
from sciswarm.ledger import HANDLER_CALLS, BudgetExceeded, Ledger
from sciswarm.llm import ModelClient, ModelHandle
from sciswarm.run.models import vision_client
from sciswarm.run.roles import ResolvedRole
from sciswarm.run.services import Services

Handler = Callable[[Message], Awaitable[None]]


@dataclass
class Wiring:
    """What every role instance of a run shares: the run's identity, clients, services and recorders."""

    run_id: str
    run_dir: Path
    clients: dict[str, ModelClient]
    ledger: Ledger
    services: Services
    flow: Flow
    publish: Callable[[Message], Awaitable[None]]
    record: Callable[[Trace], None]
    on_run_budget: Callable[[str], None]

    def context(self, rr: ResolvedRole, idea_id: str, prompts: Prompts) -> RoleContext[Any]:
        name = rr.spec.name

        async def publish(message: Message) -> None:
            if rr.publishes is not None and message.kind not in rr.publishes and message.kind != "stop":
                raise PermissionError(f"role {name} may publish {rr.publishes}, not '{message.kind}' (see 'publishes')")
            await self.publish(message)

        thread = Thread(run_id=self.run_id, idea_id=idea_id, role=name, publish=publish, record=self.record)
        folder = IdeaFolder(self.run_dir, idea_id)
        services = self.services
        vision = vision_client(services.cfg, self.clients)
        vision = self.clients[rr.spec.model] if vision is None else vision  # default: the role's own model

        def warn(text: str) -> None:
            thread.log(text, "warning")

        return RoleContext(
            role=name,
            params=rr.params,
            model=ModelHandle(self.clients[rr.spec.model], name, idea_id, warn=warn),
            prompts=prompts,
            thread=thread,
            folder=folder,
            models=Models(
                lambda model: ModelHandle(self.clients[model], name, idea_id, warn=warn),
                self.ledger,
                vision=lambda: ModelHandle(vision, name, idea_id, warn=warn),
            ),
            lab=Lab(services.sandbox, services.run_spec, thread, folder),
            literature_port=lambda: services.literature,
            flow=self.flow,
            template=services.template,
        )

    def handler(self, rr: ResolvedRole) -> Callable[[str], Handler]:
        """The bus's factory: one role instance per idea, and the handler that runs it."""
        prompts = Prompts.load(rr.cls.name or rr.spec.name, self.services.prompt_dirs())

        def for_idea(idea_id: str) -> Handler:
            role = rr.cls(self.context(rr, idea_id, prompts))
            return lambda message: self._handle(role.handle, rr.spec.name, idea_id, message)

        return for_idea

    async def _handle(self, react: Handler, name: str, idea_id: str, message: Message) -> None:
        calls = [0]
        token = HANDLER_CALLS.set(calls)
        ok = True
        try:
            await react(message)
        except asyncio.CancelledError:
            raise  # not finished: a resumed run delivers the message again
        except BudgetExceeded as exc:
            ok = False
            if exc.scope == "run":
                self.on_run_budget(exc.reason)
                return  # unfinished: resuming with a larger budget redoes it
            await self._fail(name, idea_id, message, f"budget: {exc.reason}")
        except Exception as exc:
            ok = False
            tb = self._keep_traceback(name, idea_id, message)
            if not isinstance(exc, ExpectedFailure):  # a bug: show where it happened
                text = f"{name} raised {type(exc).__name__}:\n{tb}"
                self.record(Log(level="error", text=text, idea_id=idea_id, sender=name))
            await self._fail(name, idea_id, message, describe(exc), tb)
        finally:
            HANDLER_CALLS.reset(token)
        handled = Handled(
            idea_id=idea_id, sender=name, message_id=message.id, on_kind=message.kind, ok=ok, model_calls=calls[0]
        )
        self.record(handled)

    def _keep_traceback(self, role: str, idea_id: str, message: Message) -> str:
        """The current exception's traceback, appended to the run's errors.log; returned for the transcript."""
        tb = traceback.format_exc()
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        with (self.run_dir / ERRORS_LOG).open("a", encoding="utf-8") as fh:
            fh.write(f"--- {stamp} {role} on {message.kind} {message.id} (idea {idea_id})\n{tb}\n")
        return tb

    async def _fail(self, role: str, idea_id: str, message: Message, error: str, tb: str = "") -> None:
        failed = RoleFailed(
            run_id=self.run_id,
            idea_id=idea_id,
            sender=role,
            role=role,
            error=error,
            on_kind=message.kind,
            parent_id=message.id,
            traceback=tb,
            details=ERRORS_LOG if tb else "",
        )
        await self.publish(failed)
