"""Resume a run after a crash or Ctrl-C without redoing finished work.

The transcript says which messages were published and which role finished reacting to which
message (`handled` records). On resume, every (message, subscribed role) pair with no `handled`
record is delivered again to that role's instance for the message's idea; everything else is
left alone. Roles keep their state on disk (plan.json, run_i/, paper/, reviews.json), so a
redelivered message picks up from there. Scripted models skip the replies already consumed.
The transcript says how the process before ended (its final status; none: it crashed or was killed).
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import ValidationError

from sciswarm.events import MESSAGE_ADAPTER, TRACE_KINDS, Log, Message, Raw
from sciswarm.procs import pid_alive
from sciswarm.run.config import ConfigError, SwarmConfig, apply_override, format_validation_error, parse_override
from sciswarm.run.store import Listener, read_transcript

if TYPE_CHECKING:
    from sciswarm.run.runner import SwarmRunner


class Subscriber(Protocol):
    """What planning needs of a resolved role."""

    subscribes: list[str]

    @property
    def name(self) -> str: ...


def parse_message(record: dict[str, Any]) -> Message | None:
    """A bus message from a transcript record (None for trace events)."""
    if record.get("kind") in TRACE_KINDS:
        return None
    data = {k: v for k, v in record.items() if k != "summary"}
    try:
        message: Message = MESSAGE_ADAPTER.validate_python(data)
    except ValidationError:
        try:
            message = Raw.model_validate(data)
        except ValidationError:
            return None
    return message


@dataclass
class ResumePlan:
    pending: list[tuple[Message, str]] = field(default_factory=list)  # (message, role name)
    consumed: Counter[str] = field(default_factory=Counter)  # model calls of finished handlers, per role
    published: int = 0


def plan_resume(records: list[dict[str, Any]], roles: dict[str, list[str]]) -> ResumePlan:
    """`roles`: role name -> the kinds it subscribes to (as configured now)."""
    plan = ResumePlan()
    handled: set[tuple[str, str]] = set()
    messages: list[Message] = []
    for rec in records:
        if rec.get("kind") == "handled":
            handled.add((str(rec.get("sender")), str(rec.get("message_id"))))
            plan.consumed[str(rec.get("sender"))] += int(rec.get("model_calls", 0))
            continue
        message = parse_message(rec)
        if message is not None:
            messages.append(message)
    plan.published = len(messages)
    for message in messages:
        for role, kinds in roles.items():
            if message.kind in kinds and role != message.sender and (role, message.id) not in handled:
                plan.pending.append((message, role))
    return plan


def load_run(run_dir: Path, overrides: list[str]) -> tuple[SwarmConfig, dict[str, Any], list[dict[str, Any]]]:
    """The run's own resolved config (plus overrides), its run.json and its transcript."""
    meta_file = run_dir / "run.json"
    try:
        meta: dict[str, Any] = json.loads(meta_file.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{run_dir}: not a resumable run (cannot read run.json: {exc})") from exc
    pid = meta.get("pid")
    if meta.get("status") == "running" and isinstance(pid, int) and pid_alive(pid) and pid != os.getpid():
        raise ConfigError(f"{run_dir}: the run is still running (pid {pid}); follow it with `sciswarm watch`")
    data = dict(meta.get("config") or {})
    for text in overrides:
        keys, value = parse_override(text)
        apply_override(data, keys, value)
    try:
        cfg = SwarmConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(str(meta_file), exc, data)) from exc
    records = list(read_transcript(run_dir / "transcript.jsonl"))
    return cfg, meta, records


def resume(
    run_dir: Path, overrides: list[str] | None = None, listeners: list[Listener] | None = None
) -> tuple[SwarmRunner, list[tuple[Message, str]]]:
    """A runner continuing `run_dir` (totals, outcomes and scripted replies carried over), and the
    (message, role) pairs still to handle."""
    from sciswarm.llm import ScriptedClient
    from sciswarm.run.runner import SwarmRunner

    cfg, meta, records = load_run(run_dir, overrides or [])
    runner = SwarmRunner(cfg, config_path=str(run_dir / "run.json"), listeners=listeners, resume_dir=run_dir)
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
    told = f"resume {runner.resumes}: {previous_end(meta, records)}; {len(plan.pending)} unfinished deliveries"
    runner.trace(Log(level="info", text=told, idea_id="swarm", sender="swarm"))
    return runner, plan.pending


def previous_end(meta: dict[str, Any], records: list[dict[str, Any]]) -> str:
    """How the process before this one ended, as the run folder tells it (for the transcript)."""
    stamps = [float(r["ts"]) for r in records if isinstance(r.get("ts"), int | float)]
    last = f" after its last record at {time.strftime('%H:%M:%S', time.localtime(max(stamps)))}" if stamps else ""
    status, pid = meta.get("status"), meta.get("pid")
    if status == "running":  # it never wrote its final status: it was killed or crashed
        return f"the previous process (pid {pid}) ended without a final status{last}: it crashed or was killed"
    reason = f" ({meta['reason']})" if meta.get("reason") else ""
    return f"the previous process (pid {pid}) ended {status}{reason}{last}"
