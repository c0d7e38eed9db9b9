"""Run a swarm: wire config, models, roles and bus; end on idle (judged by its outcomes) or on a stop."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

from sciswarm.agents.ports import Flow
from sciswarm.errors import ExpectedFailure, one_line
from sciswarm.events import Log, Message, RunStatus, Start, Trace
from sciswarm.ledger import Ledger
from sciswarm.llm import ModelClient
from sciswarm.run.bus import Bus
from sciswarm.run.config import SwarmConfig
from sciswarm.run.meta import run_meta
from sciswarm.run.models import build_clients, check_api_keys, describe_models
from sciswarm.run.outcome import Outcomes
from sciswarm.run.preflight import preflight
from sciswarm.run.roles import resolve_roles
from sciswarm.run.services import Services
from sciswarm.run.stops import Stops
from sciswarm.run.store import Listener, RunStore, Transcript, new_run_id
from sciswarm.run.wiring import Wiring


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
        self.run_id = resume_dir.name if resume_dir is not None else run_id or new_run_id(cfg.name, Path(cfg.runs_dir))
        self.store = RunStore(resume_dir) if resume_dir else RunStore.create(Path(cfg.runs_dir), self.run_id)
        self.transcript = Transcript(self.store.transcript_path)
        for listener in listeners or []:
            self.transcript.subscribe(listener)
        self.stops = Stops()
        self.ledger = Ledger(budget=cfg.budget, run_id=self.run_id, on_call=self.trace, on_run_budget=self.stops.budget)
        self.clients: dict[str, ModelClient] = build_clients(cfg, self.ledger, log=self._log)
        self.services = Services(cfg, self.store.run_dir, log=self._log, trace=self.trace)
        self.bus = Bus(recorder=self._record)
        self.outcomes = Outcomes.for_roles([r.publishes for r in self.roles])
        flow = Flow(cfg.description, cfg.flow.max_ideas, cfg.flow.proceed_on_unknown_novelty, cfg.flow.seeds)
        self.wiring = Wiring(
            self.run_id, self.store.run_dir, self.clients, self.ledger, self.services, flow, self.bus.publish,
            self.trace, self.stops.budget,
        )  # fmt: skip
        self.started_at = time.time()
        self.status = "running"
        self.resumes = 0
        self.rerun_of: dict[str, object] | None = None  # set by `sciswarm rerun`: the run and stage it redoes
        self._meta_written = 0.0

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
            self.stops.stop_message(message.sender, getattr(message, "reason", ""))
        elif self.bus.published >= self.cfg.flow.max_messages:
            self.stops.message_limit(self.cfg.flow.max_messages)

    def request_stop(self, status: str, reason: str) -> None:
        self.stops.request(status, reason)

    def _write_meta(self, reason: str = "") -> None:
        self._meta_written = time.monotonic()
        self.store.write_meta(run_meta(self, reason))

    # ---- the run ------------------------------------------------------
    async def _begin(self, initial: list[Message], redeliver: list[tuple[Message, str]] | None) -> None:
        for rr in self.roles:
            await self.bus.add_role(rr.spec.name, rr.subscribes, self.wiring.handler(rr), rr.cls.description)
        self.bus.start()
        if redeliver is None:
            template = str(self.services.template) if self.services.template else ""
            await self.bus.publish(
                Start(run_id=self.run_id, sender="swarm", template=template, goal=self.cfg.description)
            )
        for message, role_name in redeliver or []:
            self._log("info", f"resume: delivering {message.kind} {message.id} to {role_name} again", message.idea_id)
            self.bus.deliver(message, role_name)
        for message in initial:
            message.run_id, message.sender = self.run_id, message.sender or "swarm"
            await self.bus.publish(message)

    async def _prepare(self) -> str:
        """What must be ready before the first role runs (what the roles need, the template's data); why it is
        not, or ""."""
        problems = await asyncio.to_thread(preflight, self.cfg, self.roles)
        if problems:
            return "preflight: " + "; ".join(problems)
        try:
            await self.services.prepare_data()
        except ExpectedFailure as exc:
            return str(exc)
        return ""

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
            loop.add_signal_handler(signal.SIGINT, self.stops.interrupted, "interrupted by the user (Ctrl-C)")
            loop.add_signal_handler(signal.SIGTERM, self.stops.interrupted, "terminated (SIGTERM)")
        try:
            reason = await self._prepare()
            if reason:  # before any role (and any model call): nothing ran
                self.status = "failed"
                return self.status
            await self._begin(initial or [], redeliver)
            idle, stop = asyncio.create_task(self.bus.wait_idle()), asyncio.create_task(self.stops.wait())
            timeout = self.cfg.flow.timeout_s
            done, _ = await asyncio.wait({idle, stop}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            if idle in done and not self.stops.requested:
                self.status, reason = self.outcomes.verdict()
                stop.cancel()
            else:
                if not done:
                    self.stops.time_limit(timeout)
                self.status, reason = self.stops.status, self.stops.reason
                await self.bus.shutdown(idle)
        except BaseException as exc:
            self.status, reason = "failed", f"{type(exc).__name__}: {exc}"
            await self.bus.shutdown()
            raise
        finally:
            if handle_signals:
                loop.remove_signal_handler(signal.SIGINT)
                loop.remove_signal_handler(signal.SIGTERM)
            await self._end(reason)
        return self.status

    async def _end(self, reason: str) -> None:
        if self.status == "running":
            self.status = "failed"
        outcomes = {i: o.model_dump() for i, o in self.outcomes.ideas().items()}
        self.trace(RunStatus(status=self.status, reason=one_line(reason, 2000), outcomes=outcomes))
        self._write_meta(reason)
        await self.services.close()
        self.transcript.close()
