"""Spacing request starts: one fair limiter shared by every caller of a service (literature engines, model
providers). A leaf: it imports nothing from sciswarm."""

from __future__ import annotations

import asyncio
import threading
import time


class RateLimiter:
    """Spaces request starts at least ``min_interval_s`` apart; fair (first come, first served).

    Slots are reserved under a thread lock, so it works from any event loop or thread.
    """

    def __init__(self, min_interval_s: float) -> None:
        self.min_interval_s = min_interval_s
        self._next_slot = 0.0
        self._lock = threading.Lock()

    async def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next_slot)
            self._next_slot = slot + self.min_interval_s
        if slot > now:
            await asyncio.sleep(slot - now)

    def defer(self, seconds: float) -> None:
        """Push the next slot back (the server asked everyone to slow down)."""
        with self._lock:
            self._next_slot = max(self._next_slot, time.monotonic() + seconds)
