"""A circuit breaker per literature engine, shared by every role and idea of a run.

When an engine fails past its retries for a reason that says it is down (rate limited, 5xx, timeouts,
refused connections), the breaker opens: for a cool-down every later search skips that engine at once
instead of paying the retries again. After the cool-down, exactly one search is let through as a probe (one
attempt, no retries) while the others keep skipping; its answer closes the breaker or opens it again. A
server's Retry-After lengthens the cool-down (capped). An engine that answers, even with an error such as
HTTP 400, is up: that closes the breaker.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Literal

Decision = Literal["call", "probe", "skip"]


class Breaker:
    def __init__(
        self,
        engine: str,
        cooldown_s: float,
        max_cooldown_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.cooldown_s = cooldown_s
        self.max_cooldown_s = max(cooldown_s, max_cooldown_s)
        self._clock = clock
        self._lock = threading.Lock()
        self._open_until: float | None = None  # None: closed
        self._probing = False
        self._last_error = ""

    @property
    def is_open(self) -> bool:
        with self._lock:
            return self._open_until is not None

    def decide(self) -> Decision:
        """May this search call the engine? "probe": yes, as the one probe; call ``closed``/``opened`` after."""
        with self._lock:
            if self._open_until is None:
                return "call"
            if self._probing or self._clock() < self._open_until:
                return "skip"
            self._probing = True
            return "probe"

    def skipped_because(self) -> str:
        with self._lock:
            if self._open_until is None:
                return f"{self.engine}: available"
            wait = max(0.0, self._open_until - self._clock())
            when = "a probe is in flight" if self._probing else f"next probe in {wait:.0f}s"
            return f"{self.engine}: unavailable ({self._last_error}; {when})"

    def closed(self) -> None:
        """The engine answered."""
        with self._lock:
            self._open_until = None
            self._probing = False
            self._last_error = ""

    def abandoned(self) -> None:
        """The probe ended without an answer either way (e.g. cancelled): let the next search probe."""
        with self._lock:
            self._probing = False

    def opened(self, error: str, retry_after: float | None = None) -> None:
        """The engine is down: skip it for the cool-down (longer when the server asked for it)."""
        wait = min(self.max_cooldown_s, max(self.cooldown_s, retry_after or 0.0))
        with self._lock:
            self._open_until = self._clock() + wait
            self._probing = False
            self._last_error = error
