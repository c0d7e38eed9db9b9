"""Run a swarm: wire config, models, roles and bus; stop on idle, Stop, budget, timeout or Ctrl-C."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sciswarm.agents.base import Role, RoleContext
from sciswarm.agents.prompting import Prompts
from sciswarm.agents.registry import RoleNotFound, resolve
from sciswarm.errors import ERRORS_LOG, ExpectedFailure, describe, one_line
from sciswarm.events import Handled, Log, Message, RoleFailed, RunStatus, Start, Trace
from sciswarm.ledger import HANDLER_CALLS, BudgetExceeded, Ledger
from sciswarm.llm import ModelClient, ModelHandle, ScriptedClient
from sciswarm.swarm.bus import Bus
from sciswarm.swarm.config import ConfigError, RoleSpec, SwarmConfig
from sciswarm.swarm.models import build_clients, check_api_keys, describe_models
from sciswarm.swarm.outcome import Outcomes
from sciswarm.swarm.services import Services
from sciswarm.swarm.store import Listener, RunStore, Transcript, new_run_id


@dataclass
class ResolvedRole:
    spec: RoleSpec
    cls: type[Role]
    params: Any
    subscribes: list[str]
    publishes: list[str] | None


def resolve_roles(cfg: SwarmConfig, source: str = "config") -> list[ResolvedRole]:
    """Import every role class and validate its params with the role's own model."""
    from pydantic import ValidationError

    if cfg.base_dir not in sys.path:
        sys.path.insert(0, cfg.base_dir)  # roles kept beside the YAML file are importable
    resolved = []
    problems = []
    for i, spec in enumerate(cfg.roles):
        if not spec.enabled:
            continue
        where = f"roles[{i}] ({spec.name})"
        try:
            cls = resolve(spec.use or spec.name)
        except RoleNotFound as exc:
            problems.append(f"  - {where}.use: {exc}")
            continue
        try:
            params = cls.Params.model_validate(spec.params)
        except ValidationError as exc:
            for err in exc.errors():
                loc = ".".join(str(p) for p in err["loc"])
                problems.append(f"  - {where}.params.{loc}: {err['msg']}")
            continue
        for field in cls.model_params:
            names = getattr(params, field, None) or []
            for name in [names] if isinstance(names, str) else names:
                if name not in cfg.models:
                    defined = ", ".join(sorted(cfg.models))
                    problems.append(f"  - {where}.params.{field}: no model named '{name}' (models defines: {defined})")
        subscribes = list(spec.subscribes if spec.subscribes is not None else cls.subscribes)
        publishes = spec.publishes if spec.publishes is not None else (list(cls.publishes) or None)
        resolved.append(ResolvedRole(spec, cls, params, subscribes, publishes))
    if problems:
        raise ConfigError(f"{source}: invalid roles:\n" + "\n".join(problems))
    return resolved


class SwarmRunner:
    def __init__(
        self,
        cfg: SwarmConfig,
        *,
        config_path: str = "",
        run_id: str | None = None,
        listeners: list[Listener] | None = None,
        resume_dir: Path | None = None,
    ) -> None:
        self.cfg = cfg
        self.roles = resolve_roles(cfg, config_path or "config")
        check_api_keys(cfg)
        if resume_dir is not None:
            self.store = RunStore(resume_dir)
            self.run_id = resume_dir.name
        else:
            self.run_id = run_id or new_run_id(cfg.name)
            self.store = RunStore.create(Path(cfg.runs_dir), self.run_id)
        self.transcript = Transcript(self.store.transcript_path)
        for listener in listeners or []:
            self.transcript.subscribe(listener)
        self.ledger = Ledger(
            budget=cfg.budget, run_id=self.run_id, on_call=self.trace, on_run_budget=self._on_run_budget
        )
        self.clients: dict[str, ModelClient] = build_clients(cfg, self.ledger)
        self.services = Services(cfg, self.store.run_dir, log=self._log)
        self.bus = Bus(recorder=self._record)
        self.outcomes = Outcomes.for_roles([r.publishes for r in self.roles])
        self._stop = asyncio.Event()
        self._stop_status = "stopped"
        self._stop_reason = ""
        self.started_at = time.time()
        self.status = "running"
        self.resumes = 0
        self._meta_written = 0.0

    @classmethod
    def for_resume(
        cls, run_dir: Path, overrides: list[str] | None = None, listeners: list[Listener] | None = None
    ) -> tuple[SwarmRunner, list[tuple[Message, str]]]:
        """A runner continuing `run_dir`, and the (message, role) pairs still to handle."""
        from sciswarm.swarm.resume import load_run, plan_resume

        cfg, meta, records = load_run(run_dir, overrides or [])
        runner = cls(cfg, config_path=str(run_dir / "run.json"), listeners=listeners, resume_dir=run_dir)
        plan = plan_resume(records, {r.spec.name: r.subscribes for r in runner.roles})
        runner.ledger.replay(records)
        for record in records:
            runner.outcomes.observe(record)
        runner.bus.published = plan.published
        for rr in runner.roles:
            client = runner.clients[rr.spec.model]
            if isinstance(client, ScriptedClient) and plan.consumed[rr.spec.name]:
                client.advance(rr.spec.name, plan.consumed[rr.spec.name])
        runner.resumes = int(meta.get("resumes", 0)) + 1
        runner.started_at = float(meta.get("started_at") or runner.started_at)
        return runner, plan.pending

    # ---- recording ------------------------------------------------------
    def trace(self, event: Trace) -> None:
        event.run_id = event.run_id or self.run_id
        self.transcript.write(event)

    def _log(self, level: str, text: str, idea_id: str = "swarm", sender: str = "swarm") -> None:
        self.trace(Log(level=level, text=text, idea_id=idea_id, sender=sender))

    def _record(self, message: Message) -> None:
        self.outcomes.observe(self.transcript.write(message))
        if time.monotonic() - self._meta_written > 1.0:  # keep run.json's totals fresh (crash-safe)
            self._write_meta()
        if message.kind == "stop":
            self.request_stop("stopped", f"Stop published by {message.sender}: {getattr(message, 'reason', '')}")
        elif self.bus.published >= self.cfg.flow.max_messages:
            self.request_stop("stopped", f"message limit reached ({self.cfg.flow.max_messages})")

    def _on_run_budget(self, reason: str) -> None:
        self.request_stop("stopped", reason)

    def request_stop(self, status: str, reason: str) -> None:
        if not self._stop.is_set():
            self._stop_status = status
            self._stop_reason = reason
            self._stop.set()

    def _write_meta(self, reason: str = "") -> None:
        self._meta_written = time.monotonic()
        self.store.write_meta(
            {
                "run_id": self.run_id,
                "name": self.cfg.name,
                "status": self.status,
                "reason": reason,
                "pid": os.getpid(),
                "started_at": self.started_at,
                "ended_at": None if self.status == "running" else time.time(),
                "wall_s": round(time.time() - self.started_at, 2),
                "messages": self.bus.published,
                "resumes": self.resumes,
                "totals": self.ledger.snapshot(),
                "outcomes": {i: o.model_dump() for i, o in self.outcomes.ideas().items()},
                "roles": {
                    r.spec.name: {
                        "class": f"{r.cls.__module__}:{r.cls.__qualname__}",
                        "subscribes": r.subscribes,
                    }
                    for r in self.roles
                },
                "config": self.cfg.model_dump(mode="json"),
            }
        )

    # ---- roles ----------------------------------------------------------
    def _handler_factory(self, rr: ResolvedRole) -> Callable[[str], Callable[[Message], Any]]:
        prompts = Prompts.load(rr.cls.name or rr.spec.name, self.services.prompt_dirs())
        client = self.clients[rr.spec.model]
        name = rr.spec.name

        def factory(idea_id: str) -> Callable[[Message], Any]:
            async def publish(message: Message) -> None:
                if rr.publishes is not None and message.kind not in rr.publishes and message.kind != "stop":
                    raise PermissionError(
                        f"role {name} may publish {rr.publishes}, not '{message.kind}' (see its 'publishes')"
                    )
                await self.bus.publish(message)

            ctx: RoleContext[Any] = RoleContext(
                role=name,
                run_id=self.run_id,
                idea_id=idea_id,
                params=rr.params,
                model=ModelHandle(client, name, idea_id),
                models_fn=lambda model_name: ModelHandle(self.clients[model_name], name, idea_id),
                prompts=prompts,
                run_dir=self.store.run_dir,
                publish_fn=publish,
                log_fn=lambda level, text: self._log(level, text, idea_id, name),
                template=self.services.template,
                sandbox_fn=self.services.sandbox,
                run_spec_fn=self.services.run_spec,
                literature_fn=lambda: self.services.literature,
                output_fn=lambda stream, line: self.services.output(name, idea_id, stream, line, self.trace),
                trace_fn=self.trace,
                settings={**self.cfg.flow.model_dump(), "goal": self.cfg.description},
            )
            role = rr.cls(ctx)

            async def handle(message: Message) -> None:
                calls = [0]
                token = HANDLER_CALLS.set(calls)
                ok = True
                try:
                    await role.handle(message)
                except asyncio.CancelledError:
                    raise  # not finished: a resumed run delivers the message again
                except BudgetExceeded as exc:
                    ok = False
                    if exc.scope == "run":
                        self.request_stop("stopped", exc.reason)
                        return  # unfinished: resuming with a larger budget redoes it
                    await self._fail(name, idea_id, message, f"budget: {exc.reason}")
                except Exception as exc:
                    ok = False
                    tb = self._keep_traceback(name, idea_id, message)
                    if not isinstance(exc, ExpectedFailure):  # a bug: show where it happened
                        self._log("error", f"{name} raised {type(exc).__name__}:\n{tb}", idea_id, name)
                    await self._fail(name, idea_id, message, describe(exc), tb)
                finally:
                    HANDLER_CALLS.reset(token)
                self.trace(
                    Handled(
                        idea_id=idea_id,
                        sender=name,
                        message_id=message.id,
                        on_kind=message.kind,
                        ok=ok,
                        model_calls=calls[0],
                    )
                )

            return handle

        return factory

    def _keep_traceback(self, role: str, idea_id: str, message: Message) -> str:
        """The current exception's traceback, appended to the run's errors.log; returned for the transcript."""
        tb = traceback.format_exc()
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        with (self.store.run_dir / ERRORS_LOG).open("a", encoding="utf-8") as fh:
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
        await self.bus.publish(failed)

    # ---- the run ------------------------------------------------------
    async def run(
        self,
        *,
        handle_signals: bool = True,
        initial: list[Message] | None = None,
        redeliver: list[tuple[Message, str]] | None = None,
    ) -> str:
        """Run to the end. `initial` messages are published after Start (e.g. a Paper to review);
        `redeliver` (resume) sends earlier messages to the roles that had not finished them, instead of Start."""
        reason = ""
        self._write_meta()
        self.trace(RunStatus(status="running", reason=f"run {self.run_id} in {self.store.run_dir}"))
        for line in describe_models(self.cfg):
            self._log("warning" if "SCRIPTED" in line else "info", line)
        loop = asyncio.get_running_loop()
        if handle_signals:
            loop.add_signal_handler(signal.SIGINT, self.request_stop, "interrupted", "interrupted by the user (Ctrl-C)")
            loop.add_signal_handler(signal.SIGTERM, self.request_stop, "interrupted", "terminated (SIGTERM)")
        try:
            for rr in self.roles:
                await self.bus.add_role(rr.spec.name, rr.subscribes, self._handler_factory(rr), rr.cls.description)
            self.bus.start()
            template = str(self.services.template) if self.services.template else ""
            if redeliver is None:
                await self.bus.publish(
                    Start(run_id=self.run_id, sender="swarm", template=template, goal=self.cfg.description)
                )
            for message, role_name in redeliver or []:
                self._log(
                    "info", f"resume: delivering {message.kind} {message.id} to {role_name} again", message.idea_id
                )
                self.bus.deliver(message, role_name)
            for message in initial or []:
                message.run_id, message.sender = self.run_id, message.sender or "swarm"
                await self.bus.publish(message)
            idle = asyncio.create_task(self.bus.wait_idle())
            stop = asyncio.create_task(self._stop.wait())
            done, _ = await asyncio.wait(
                {idle, stop}, timeout=self.cfg.flow.timeout_s, return_when=asyncio.FIRST_COMPLETED
            )
            if idle in done and not self._stop.is_set():
                self.status, reason = self.outcomes.verdict()
                stop.cancel()
            else:
                if not done:
                    self.request_stop("stopped", f"run time limit reached ({self.cfg.flow.timeout_s} s)")
                self.status, reason = self._stop_status, self._stop_reason
                await self.bus.shutdown(idle)
        except BaseException as exc:
            self.status, reason = "failed", f"{type(exc).__name__}: {exc}"
            await self.bus.shutdown()
            raise
        finally:
            if handle_signals:
                loop.remove_signal_handler(signal.SIGINT)
                loop.remove_signal_handler(signal.SIGTERM)
            if self.status == "running":
                self.status = "failed"
            outcomes = {i: o.model_dump() for i, o in self.outcomes.ideas().items()}
            self.trace(RunStatus(status=self.status, reason=one_line(reason, 2000), outcomes=outcomes))
            self._write_meta(reason)
            await self.services.close()
            self.transcript.close()
        return self.status
