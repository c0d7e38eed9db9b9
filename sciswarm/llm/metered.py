"""What every model client shares: budget checks before a call, and one ledger record per attempt."""

from __future__ import annotations

import time

from sciswarm.ledger import CallRecord, Ledger
from sciswarm.llm.types import Usage


class Metered:
    """Base of the clients: ``name`` is what the transcript shows; ``scripted`` labels replies written in
    advance (not a language model)."""

    scripted = False

    def __init__(self, name: str, ledger: Ledger | None) -> None:
        self.name = name
        self.ledger = ledger or Ledger()

    def _before(self) -> float:
        self.ledger.before_call()  # raises BudgetExceeded
        return time.monotonic()

    def _succeeded(
        self, usage: Usage, started: float, *, attempt: int = 1, cost_usd: float = 0.0, structured: str = ""
    ) -> None:
        self.ledger.record(
            CallRecord(
                model=self.name,
                prompt_tokens=usage.prompt_tokens,
                completion_tokens=usage.completion_tokens,
                cost_usd=cost_usd,
                latency_s=time.monotonic() - started,
                attempt=attempt,
                cached_tokens=usage.cached_tokens,
                scripted=self.scripted,
                structured=structured,
            )
        )

    def _failed(self, exc: BaseException, started: float, *, attempt: int = 1, structured: str = "") -> None:
        self.ledger.record(
            CallRecord(
                model=self.name,
                prompt_tokens=0,
                completion_tokens=0,
                cost_usd=0.0,
                latency_s=time.monotonic() - started,
                ok=False,
                attempt=attempt,
                scripted=self.scripted,
                error=f"{type(exc).__name__}: {str(exc)[:300]}",
                structured=structured,
            )
        )
