"""One breaker per engine, shared by every search of a run: an outage costs one bounded wait, then none."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from literature_support import make_search
from support.fake_scholar import FakeScholar, fail, ok

from sciswarm.literature import LiteratureUnavailable


async def test_total_outage_is_unknown_within_the_wait_then_skipped_at_once(
    server: FakeScholar, tmp_path: Path
) -> None:
    server.always("s2", fail(429, retry_after=3600))
    server.always("openalex", fail(429, retry_after=3600))
    search = make_search(server, tmp_path, max_attempts=20, backoff_max_s=0.2, deadline_s=90, wait_s=1.0)
    started = time.monotonic()
    with pytest.raises(LiteratureUnavailable, match="HTTP 429"):
        await search.search("denoising diffusion", limit=2)
    assert time.monotonic() - started < 1.6  # the wait over both engines, not 90 s per engine
    first = len(server.requests)
    started = time.monotonic()
    for query in ("score matching", "noise schedules", "flow matching"):  # other roles, other ideas
        with pytest.raises(LiteratureUnavailable, match="next probe in"):
            await search.search(query, limit=2)
    assert time.monotonic() - started < 0.2 and len(server.requests) == first  # no request, no wait


async def test_cache_hits_answer_while_the_engines_are_down(server: FakeScholar, tmp_path: Path) -> None:
    search = make_search(server, tmp_path)
    await search.search("denoising diffusion", limit=2)
    server.always("s2", fail(503))
    server.always("openalex", fail(503))
    with pytest.raises(LiteratureUnavailable):
        await search.search("score matching", limit=2)
    assert search.breakers["semanticscholar"].is_open and search.breakers["openalex"].is_open
    papers = await search.search("denoising diffusion", limit=2)
    assert papers and papers[0].title


async def test_one_probe_after_the_cooldown_decides(server: FakeScholar, tmp_path: Path) -> None:
    server.always("s2", fail(500))
    search = make_search(server, tmp_path, fallback_api_base=None, cooldown_s=0.3, max_cooldown_s=0.3)
    with pytest.raises(LiteratureUnavailable):
        await search.search("denoising diffusion", limit=2)
    await asyncio.sleep(0.35)
    before = len(server.requests_to("s2"))
    outcomes = await asyncio.gather(*(search.search(q, limit=2) for q in ("a b", "c d", "e f")), return_exceptions=True)
    assert len(server.requests_to("s2")) == before + 1  # one probe, one attempt; the others skipped
    assert all(isinstance(o, LiteratureUnavailable) for o in outcomes)
    assert sum("probe is in flight" in str(o) for o in outcomes) == 2
    await asyncio.sleep(0.35)
    server.always("s2", ok())
    assert await search.search("denoising diffusion", limit=2)  # the probe answered: closed again
    assert not search.breakers["semanticscholar"].is_open
    assert await search.search("score matching", limit=2)


async def test_a_refused_request_does_not_open_the_breaker(server: FakeScholar, tmp_path: Path) -> None:
    server.always("s2", fail(400, body={"error": "bad query"}))
    search = make_search(server, tmp_path, fallback_api_base=None)
    for query in ("a b", "c d"):
        with pytest.raises(LiteratureUnavailable, match="not retryable"):
            await search.search(query, limit=2)
    assert len(server.requests_to("s2")) == 2 and not search.breakers["semanticscholar"].is_open


def test_default_wait_for_a_first_verdict_is_at_most_a_minute() -> None:
    from sciswarm.literature.config import LiteratureConfig

    assert LiteratureConfig().wait_s <= 60
