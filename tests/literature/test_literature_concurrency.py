"""Searches in flight together: they are safe, and the rate limit spaces their requests."""

from __future__ import annotations

import asyncio
import itertools
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
    queries = ["denoising diffusion", "stochastic differential", "grokking algorithmic"]
    await asyncio.gather(*(search.search(q, limit=2) for q in queries))
    times = sorted(r.at for r in server.requests)
    assert len(times) == 3
    assert all(b - a >= 0.17 for a, b in itertools.pairwise(times))  # 30 ms slack for client set-up
