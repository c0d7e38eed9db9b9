"""Searches in flight together: they are safe, and the rate limit spaces their requests."""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path

from literature_support import make_search
from support.fake_scholar import FakeScholar


async def test_concurrent_searches_are_safe(server: FakeScholar, tmp_path: Path) -> None:
    search = make_search(server, tmp_path)
    queries = ["denoising diffusion", "stochastic differential", "grokking algorithmic", "diffusion gans"] * 3
    results = await asyncio.gather(*(search.search(q, limit=2) for q in queries))
    assert all(results[i] == results[i % 4] for i in range(len(queries)))
    assert len(search.cache) == 4


# -- rate limiting -----------------------------------------------------------------------------------------


async def test_rate_limiting_spaces_requests(server: FakeScholar, tmp_path: Path) -> None:
    search = make_search(server, tmp_path, min_interval_s=0.2)
    # when each request is let go (the limiter's promise); the server's arrival times add the client's variable
    # connection set-up on a loaded machine, so they only show that all three came, in order
    released: list[float] = []
    limiter = search._limiters["semanticscholar"]
    wait = limiter.wait

    async def timed_wait() -> None:
        await wait()
        released.append(time.monotonic())

    limiter.wait = timed_wait  # type: ignore[method-assign]
    queries = ["denoising diffusion", "stochastic differential", "grokking algorithmic"]
    await asyncio.gather(*(search.search(q, limit=2) for q in queries))
    assert len(server.requests) == 3 and len(released) == 3
    assert all(b - a >= 0.195 for a, b in itertools.pairwise(sorted(released)))
