"""Rate limiting (`sciswarm.pacing.RateLimiter`) and bounded retries shared by the engines.

Every request an engine makes goes through ``run_with_retries``: wait for the engine's rate limiter, run
one attempt under a per-request timeout, and on a retryable failure (429, 5xx, timeout, connection error)
sleep an exponentially growing, capped delay (or the server's Retry-After, capped) before the next
attempt. Attempts, single delays and the total time on one engine are all bounded, so a search never hangs.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from sciswarm.pacing import RateLimiter

log = logging.getLogger("sciswarm.literature")
T = TypeVar("T")
RETRYABLE_STATUS = {429, 500, 502, 503, 504}
USER_AGENT = "sciswarm-literature/0.1"


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()


def http_client(timeout_s: float) -> httpx.AsyncClient:
    """A short-lived client. The SSL context is built once: building it per client costs ~40 ms of
    blocking CPU, which would stall the event loop on every request."""
    return httpx.AsyncClient(timeout=timeout_s, headers={"User-Agent": USER_AGENT}, verify=_ssl_context())


class EngineError(Exception):
    """One failed attempt. ``retryable`` says whether trying again may help."""

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


class EngineFailed(Exception):
    """An engine gave up for this search (after its retries, or on a non-retryable error). ``down``: the
    failure says the engine is unavailable (429, 5xx, timeouts, refused connections), not that it refused
    this one request; ``retry_after``: the server's last Retry-After, if any."""

    def __init__(self, message: str, *, down: bool = False, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.down = down
        self.retry_after = retry_after


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 4
    timeout_s: float = 20.0
    backoff_base_s: float = 1.0
    backoff_max_s: float = 20.0
    deadline_s: float = 90.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Sleep before retry number ``attempt + 1`` (jittered exponential, or Retry-After; capped)."""
        backoff = self.backoff_base_s * (2**attempt) * (0.5 + random.random() / 2)
        if retry_after is not None:
            backoff = max(backoff, retry_after)
        return min(backoff, self.backoff_max_s)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:  # an HTTP date: rare for these APIs, fall back to our own backoff
        return None


def check_response(response: httpx.Response, engine: str) -> Any:
    """The JSON body of a 200 response; otherwise an EngineError saying what went wrong."""
    status = response.status_code
    if status == 200:
        try:
            return response.json()
        except ValueError as e:
            raise EngineError(f"{engine}: invalid JSON in HTTP 200 response", retryable=False) from e
    snippet = " ".join(response.text.split())[:200]
    raise EngineError(
        f"{engine}: HTTP {status} {response.reason_phrase}" + (f": {snippet}" if snippet else ""),
        retryable=status in RETRYABLE_STATUS,
        retry_after=_retry_after(response) if status in (429, 503) else None,
    )


def _as_engine_error(exc: Exception, engine: str, timeout_s: float) -> EngineError:
    if isinstance(exc, EngineError):
        return exc
    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return EngineError(f"{engine}: timed out after {timeout_s:g}s", retryable=True)
    if isinstance(exc, httpx.TransportError):
        return EngineError(f"{engine}: {type(exc).__name__}: {exc}", retryable=True)
    return EngineError(f"{engine}: {type(exc).__name__}: {exc}", retryable=False)


async def run_with_retries(
    engine: str,
    attempt: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    limiter: RateLimiter,
    *,
    gave_up_elsewhere: Callable[[], bool] = lambda: False,
) -> T:
    """Run ``attempt`` until it succeeds or the policy gives up (then raise EngineFailed). Before each retry,
    ``gave_up_elsewhere()`` is asked: true when another search has meanwhile found the engine down."""
    spent = 0.0  # time in attempts and backoff sleeps; waiting for the rate limiter is not counted
    for number in range(1, policy.max_attempts + 1):
        await limiter.wait()
        budget = min(policy.timeout_s, policy.deadline_s - spent)
        started = time.monotonic()
        try:
            async with asyncio.timeout(budget):
                return await attempt()
        except Exception as exc:
            error = _as_engine_error(exc, engine, budget)
        spent += time.monotonic() - started
        tried = f"{number} attempt{'s' if number > 1 else ''}"
        if not error.retryable:
            raise EngineFailed(f"{error} ({tried}, not retryable)")
        down = functools.partial(EngineFailed, down=True, retry_after=error.retry_after)
        if number == policy.max_attempts:
            raise down(f"{error} (gave up after {tried})")
        delay = policy.delay(number - 1, error.retry_after)
        if spent + delay >= policy.deadline_s:
            raise down(f"{error} (gave up after {tried}: deadline {policy.deadline_s:g}s)")
        if gave_up_elsewhere():
            raise down(f"{error} (gave up after {tried}: another search found {engine} down)")
        if error.retry_after is not None:
            limiter.defer(delay)
        log.info("%s; retrying in %.2fs (attempt %d/%d)", error, delay, number + 1, policy.max_attempts)
        await asyncio.sleep(delay)
        spent += delay
    raise AssertionError("unreachable")
