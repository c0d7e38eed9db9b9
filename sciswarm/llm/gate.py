"""One gate per model provider, shared by every client that calls it (the roles' models, the vision model,
AgentChat agents): at most ``max_concurrency`` requests in flight, request starts spaced to ``rpm``, and when
any caller gets a 429 every caller of that provider waits until the back-off ends (the provider's
Retry-After when it sends one) before sending again. One log line per back-off, however many callers it
holds up.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

from sciswarm.pacing import RateLimiter

MAX_PAUSE_S = 300.0  # a Retry-After longer than this is capped (a run should not sleep for hours on one header)
PauseLog = Callable[[str], None]


class ProviderGate:
    def __init__(
        self, name: str, *, max_concurrency: int, rpm: float | None = None, on_pause: PauseLog | None = None
    ) -> None:
        if max_concurrency < 1:
            raise ValueError(f"provider {name}: max_concurrency must be at least 1 (got {max_concurrency})")
        if rpm is not None and rpm <= 0:
            raise ValueError(f"provider {name}: rpm must be above 0 (got {rpm}); leave it out for no limit")
        self.name = name
        self.max_concurrency = max_concurrency
        self.rpm = rpm
        self.on_pause = on_pause
        self._slots = asyncio.Semaphore(max_concurrency)
        self._pacer = RateLimiter(60.0 / rpm if rpm else 0.0)
        self._paused_until = 0.0

    def describe(self) -> str:
        pace = f", {self.rpm:g} requests a minute" if self.rpm else ""
        return f"provider {self.name}: at most {self.max_concurrency} calls at once{pace}"

    def paused_for(self) -> float:
        """Seconds left of the current back-off (0: not paused)."""
        return max(0.0, self._paused_until - time.monotonic())

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Hold one of the provider's slots for one request, entered once the pace and any back-off allow."""
        async with self._slots:
            while True:
                await self._pacer.wait()
                left = self.paused_for()
                if left <= 0:  # a start reserved before a back-off began is given up and taken again after it
                    break
                await asyncio.sleep(left)
            yield

    def rate_limited(self, retry_after: float | None, fallback_s: float) -> float:
        """A caller got a 429: pause every caller for ``retry_after`` (the provider's word, capped) or else
        ``fallback_s``. A 429 during a back-off only lengthens it. Returns the pause in seconds."""
        seconds = min(MAX_PAUSE_S, max(0.0, retry_after if retry_after is not None else fallback_s))
        now = time.monotonic()
        fresh = self._paused_until <= now
        if now + seconds > self._paused_until:
            self._paused_until = now + seconds
            self._pacer.defer(seconds)
        if fresh and seconds > 0 and self.on_pause is not None:
            why = "its Retry-After" if retry_after is not None else "no Retry-After, backing off"
            self.on_pause(f"provider {self.name}: 429, all calls paused {seconds:.3g} s ({why})")
        return seconds


def is_rate_limited(exc: BaseException) -> bool:
    return getattr(exc, "status_code", None) == 429 or type(exc).__name__ == "RateLimitError"


def _seconds(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        pass
    try:  # an HTTP date
        return email.utils.parsedate_to_datetime(value).timestamp() - time.time()
    except (TypeError, ValueError):
        return None


def retry_after_of(exc: BaseException) -> float | None:
    """The provider's Retry-After (or retry-after-ms) on a LiteLLM error, in seconds; None when it sent none.
    LiteLLM 1.106 keeps the response's headers in ``litellm_response_headers`` (``response.headers`` is
    often empty there), so both are read."""
    response = getattr(exc, "response", None)
    for headers in (getattr(exc, "litellm_response_headers", None), getattr(response, "headers", None)):
        if not isinstance(headers, Mapping) or not headers:
            continue
        lowered: dict[str, Any] = {str(k).lower(): v for k, v in headers.items()}
        if "retry-after-ms" in lowered and (ms := _seconds(str(lowered["retry-after-ms"]))) is not None:
            return max(0.0, ms / 1000)
        if "retry-after" in lowered and (s := _seconds(str(lowered["retry-after"]))) is not None:
            return max(0.0, s)
    return None
