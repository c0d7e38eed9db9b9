"""Trace events: written to the transcript, never published on the bus (model calls, sandbox executions,
output lines, logs, handled markers, run status)."""

from __future__ import annotations

import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Trace(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str
    run_id: str = ""
    idea_id: str = "swarm"
    sender: str = ""
    ts: float = Field(default_factory=time.time)

    def summary(self) -> str:
        return self.kind


class ModelCall(Trace):
    kind: Literal["model_call"] = "model_call"
    model: str
    stage: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cost_usd: float = 0.0
    latency_s: float = 0.0
    ok: bool = True
    attempt: int = 1
    scripted: bool = False
    error: str = ""
    structured: str = ""  # the structured-output form the request used (json_schema, json_object; "": none)

    def summary(self) -> str:
        label = " [scripted reply]" if self.scripted else ""
        label += f" [schema: {self.structured}]" if self.structured else ""
        status = "" if self.ok else f" FAILED: {self.error[:80]}"
        return (
            f"{self.model}{label} {self.stage}: {self.prompt_tokens}+{self.completion_tokens} tok, "
            f"${self.cost_usd:.4f}, {self.latency_s:.2f}s{status}"
        )


class SandboxExec(Trace):
    kind: Literal["sandbox_exec"] = "sandbox_exec"
    provider: str
    command: list[str]
    exit_code: int | None = None
    timed_out: bool = False
    oom_killed: bool = False
    wall_s: float = 0.0
    gpus: int = 0  # the GPUs the run held
    gpu_ids: list[str] = Field(default_factory=list)  # their device ids, when the lab's GPU slots handed them out

    def summary(self) -> str:
        state = "timed out" if self.timed_out else f"exit {self.exit_code}"
        held = f" on GPU {','.join(self.gpu_ids)}" if self.gpu_ids else f" on {self.gpus} GPU(s)" if self.gpus else ""
        return f"[{self.provider}] {' '.join(self.command)[:80]} -> {state} in {self.wall_s:.1f}s{held}"


class OutputLine(Trace):
    kind: Literal["output"] = "output"
    stream: Literal["stdout", "stderr"] = "stdout"
    line: str

    def summary(self) -> str:
        return self.line[:160]


class Log(Trace):
    kind: Literal["log"] = "log"
    level: Literal["info", "warning", "error"] = "info"
    text: str

    def summary(self) -> str:
        return self.text[:200]


class Handled(Trace):
    """A role finished reacting to a message (ok or failed); resume redelivers what has none."""

    kind: Literal["handled"] = "handled"
    message_id: str
    on_kind: str
    ok: bool = True
    model_calls: int = 0

    def summary(self) -> str:
        state = "ok" if self.ok else "failed"
        return f"handled {self.on_kind} ({state}, {self.model_calls} model calls)"


class RunStatus(Trace):
    kind: Literal["run_status"] = "run_status"
    status: Literal["running", "completed", "partial", "stopped", "interrupted", "failed"]
    reason: str = ""
    outcomes: dict[str, dict[str, Any]] = Field(default_factory=dict)  # idea -> outcome, stage, detail, papers

    def summary(self) -> str:
        return f"run {self.status}{': ' + self.reason if self.reason else ''}"


class SlotState(Trace):
    """The experiment slots changed (a run queued, started or ended): the sandbox's bound on parallel runs,
    how many of its slots are busy and how many runs wait for one. The live views show the latest."""

    kind: Literal["slots"] = "slots"
    change: Literal["queued", "started", "ended"]
    busy: int = Field(ge=0)
    limit: int = Field(ge=1)
    queued: int = Field(default=0, ge=0)

    def summary(self) -> str:
        waiting = f", {self.queued} queued" if self.queued else ""
        return f"slots {self.busy}/{self.limit} busy{waiting}"


TRACE_TYPES: dict[str, type[Trace]] = {
    cls.model_fields["kind"].default: cls
    for cls in (ModelCall, SandboxExec, OutputLine, Log, RunStatus, Handled, SlotState)
}
TRACE_KINDS = frozenset(TRACE_TYPES)  # transcript records that are not bus messages
