"""Usage and cost ledger: every model call is recorded here; budgets stop work cleanly."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field

from sciswarm.events import ModelCall


class Budget(BaseModel):
    """Limits; None means unlimited. Per-idea limits stop one research thread, run limits stop the swarm."""

    max_tokens: int | None = Field(default=None, ge=1)
    max_usd: float | None = Field(default=None, gt=0)
    per_idea_tokens: int | None = Field(default=None, ge=1)
    per_idea_usd: float | None = Field(default=None, gt=0)


class BudgetExceeded(RuntimeError):
    def __init__(self, scope: str, reason: str) -> None:
        super().__init__(reason)
        self.scope = scope  # "run" or "idea"
        self.reason = reason


@dataclass(frozen=True)
class CallContext:
    """Who is calling the model: set by the role's model handle, read by clients and the ledger."""

    role: str = "-"
    idea_id: str = "swarm"
    stage: str = ""


NO_CONTEXT = CallContext()
CALL_CONTEXT: contextvars.ContextVar[CallContext] = contextvars.ContextVar(
    "sciswarm_call_context",
    default=NO_CONTEXT,  # a frozen dataclass: immutable
)


# a per-handler counter of successful model calls (set by the runner around each role handler)
HANDLER_CALLS: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("sciswarm_handler_calls", default=None)


@dataclass
class CallRecord:
    model: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    latency_s: float
    ok: bool = True
    attempt: int = 1
    cached_tokens: int = 0
    scripted: bool = False
    error: str = ""
    structured: str = ""  # the structured-output form the request used ("": no schema sent)


@dataclass
class Totals:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    calls: int = 0

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def add(self, rec: CallRecord) -> None:
        self.prompt_tokens += rec.prompt_tokens
        self.completion_tokens += rec.completion_tokens
        self.cost_usd += rec.cost_usd
        self.calls += 1

    def as_dict(self) -> dict[str, float | int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "tokens": self.tokens,
            "cost_usd": round(self.cost_usd, 6),
            "calls": self.calls,
        }


@dataclass
class Ledger:
    """Thread-safe totals per run, idea, role and stage; checks budgets before each call."""

    budget: Budget = field(default_factory=Budget)
    run_id: str = ""
    on_call: Callable[[ModelCall], None] | None = None
    on_run_budget: Callable[[str], None] | None = None
    total: Totals = field(default_factory=Totals)
    by_idea: dict[str, Totals] = field(default_factory=dict)
    by_role: dict[str, Totals] = field(default_factory=dict)
    by_stage: dict[str, Totals] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def before_call(self) -> None:
        ctx = CALL_CONTEXT.get()
        b = self.budget
        with self._lock:
            t = self.total
            if b.max_tokens is not None and t.tokens >= b.max_tokens:
                self._run_exhausted(f"token budget exhausted: {t.tokens} >= {b.max_tokens} tokens")
            if b.max_usd is not None and t.cost_usd >= b.max_usd:
                self._run_exhausted(f"dollar budget exhausted: ${t.cost_usd:.4f} >= ${b.max_usd}")
            i = self.by_idea.get(ctx.idea_id, Totals())
            if b.per_idea_tokens is not None and i.tokens >= b.per_idea_tokens:
                raise BudgetExceeded(
                    "idea", f"idea {ctx.idea_id}: token budget exhausted ({i.tokens} >= {b.per_idea_tokens})"
                )
            if b.per_idea_usd is not None and i.cost_usd >= b.per_idea_usd:
                raise BudgetExceeded("idea", f"idea {ctx.idea_id}: dollar budget exhausted (${i.cost_usd:.4f})")

    def _run_exhausted(self, reason: str) -> None:
        if self.on_run_budget is not None:
            self.on_run_budget(reason)
        raise BudgetExceeded("run", reason)

    def record(self, rec: CallRecord) -> None:
        ctx = CALL_CONTEXT.get()
        counter = HANDLER_CALLS.get()
        if rec.ok and counter is not None:
            counter[0] += 1
        with self._lock:
            if rec.ok:
                self.total.add(rec)
                self.by_idea.setdefault(ctx.idea_id, Totals()).add(rec)
                self.by_role.setdefault(ctx.role, Totals()).add(rec)
                self.by_stage.setdefault(f"{ctx.role}/{ctx.stage or '-'}", Totals()).add(rec)
        if self.on_call is not None:
            self.on_call(
                ModelCall(
                    run_id=self.run_id,
                    idea_id=ctx.idea_id,
                    sender=ctx.role,
                    model=rec.model,
                    stage=ctx.stage,
                    prompt_tokens=rec.prompt_tokens,
                    completion_tokens=rec.completion_tokens,
                    cached_tokens=rec.cached_tokens,
                    cost_usd=rec.cost_usd,
                    latency_s=rec.latency_s,
                    ok=rec.ok,
                    attempt=rec.attempt,
                    scripted=rec.scripted,
                    error=rec.error,
                    structured=rec.structured,
                )
            )

    def replay(self, records: list[dict[str, Any]]) -> None:
        """Rebuild the totals from an earlier process's transcript (resume): budgets keep counting."""
        for rec in records:
            if rec.get("kind") != "model_call" or not rec.get("ok", True):
                continue
            call = CallRecord(
                model=str(rec.get("model", "")),
                prompt_tokens=int(rec.get("prompt_tokens", 0)),
                completion_tokens=int(rec.get("completion_tokens", 0)),
                cost_usd=float(rec.get("cost_usd", 0.0)),
                latency_s=float(rec.get("latency_s", 0.0)),
            )
            role, idea, stage = str(rec.get("sender", "-")), str(rec.get("idea_id", "swarm")), str(rec.get("stage", ""))
            with self._lock:
                self.total.add(call)
                self.by_idea.setdefault(idea, Totals()).add(call)
                self.by_role.setdefault(role, Totals()).add(call)
                self.by_stage.setdefault(f"{role}/{stage or '-'}", Totals()).add(call)

    def snapshot(self) -> dict[str, object]:
        with self._lock:
            return {
                "total": self.total.as_dict(),
                "by_idea": {k: v.as_dict() for k, v in self.by_idea.items()},
                "by_role": {k: v.as_dict() for k, v in self.by_role.items()},
                "by_stage": {k: v.as_dict() for k, v in self.by_stage.items()},
            }
