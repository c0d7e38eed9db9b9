"""Retries, backoff, timeouts and deadlines on one engine, and the fallback to the other when one fails."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import pytest
from literature_support import closed_port_url, make_search
from support.fake_scholar import FakeScholar, fail, ok, slow
from support.scholar_records import DDPM_ABSTRACT

from sciswarm.literature import LiteratureUnavailable


async def test_429_then_success_is_retried_with_backoff(server: FakeScholar, tmp_path: Path) -> None:
    server.script("s2", fail(429), fail(429), ok())
    search = make_search(server, tmp_path, backoff_base_s=0.05, backoff_max_s=1)
    started = time.monotonic()
    papers = await search.search("denoising diffusion", limit=2)
    elapsed = time.monotonic() - started

    assert papers[0].source == "semanticscholar"
    times = [r.at for r in server.requests_to("s2")]
    assert len(times) == 3 and not server.requests_to("openalex")
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps[0] >= 0.02 and gaps[1] >= 0.045  # jittered 0.05 * 2**i * [0.5, 1)
    assert elapsed < 1.0


async def test_retry_after_is_honoured_but_capped(server: FakeScholar, tmp_path: Path) -> None:
    server.script("s2", fail(429, retry_after=0.2), fail(429, retry_after=3600), ok())
    search = make_search(server, tmp_path, backoff_max_s=0.3)
    started = time.monotonic()
    await search.search("denoising diffusion", limit=2)
    times = [r.at for r in server.requests_to("s2")]
    assert times[1] - times[0] >= 0.19
    assert time.monotonic() - started < 1.5  # the hour-long Retry-After was capped at backoff_max_s


async def test_persistent_500_falls_back_to_openalex(server: FakeScholar, tmp_path: Path) -> None:
    server.always("s2", fail(500))
    search = make_search(server, tmp_path, mailto="team@example.org")
    papers = await search.search("denoising diffusion probabilistic models", limit=5)

    assert len(server.requests_to("s2")) == 3  # max_attempts
    (oa_request,) = server.requests_to("openalex")
    assert oa_request.params["search"] == "denoising diffusion probabilistic models"
    assert oa_request.params["per-page"] == "5" and oa_request.params["mailto"] == "team@example.org"
    assert "abstract_inverted_index" in oa_request.params["select"]

    ddpm = papers[0]
    assert ddpm.source == "openalex" and ddpm.paper_id.startswith("W")
    assert ddpm.title == "Denoising Diffusion Probabilistic Models"
    assert ddpm.abstract == DDPM_ABSTRACT  # rebuilt from abstract_inverted_index
    assert ddpm.doi == "10.48550/arxiv.2006.11239" and ddpm.arxiv_id == "2006.11239"
    assert ddpm.venue == "arXiv (Cornell University)" and ddpm.citation_count == 9000
    assert ddpm.authors == ["Jonathan Ho", "Ajay Jain", "Pieter Abbeel"]
    assert papers[1].venue is None  # work without a source


async def test_503_is_a_failure_not_an_empty_result(server: FakeScholar, tmp_path: Path) -> None:
    # semanticscholar 0.12.0's own requester turns a 503 into {} ("no results"); ours must not.
    server.always("s2", fail(503))
    search = make_search(server, tmp_path, fallback_api_base=None, max_attempts=2)
    with pytest.raises(LiteratureUnavailable, match="HTTP 503"):
        await search.search("denoising diffusion", limit=2)
    assert len(search.cache) == 0


async def test_non_retryable_error_falls_back_at_once(server: FakeScholar, tmp_path: Path) -> None:
    server.always("s2", fail(403, body={"message": "Forbidden"}))
    search = make_search(server, tmp_path)
    papers = await search.search("denoising diffusion", limit=2)
    assert papers[0].source == "openalex"
    assert len(server.requests_to("s2")) == 1


async def test_both_engines_down_raises_quickly(server: FakeScholar, tmp_path: Path) -> None:
    server.always("s2", fail(500))
    server.always("openalex", fail(502, body=b"<html>Bad Gateway</html>"))
    search = make_search(server, tmp_path)
    started = time.monotonic()
    with pytest.raises(LiteratureUnavailable) as info:
        await search.search("denoising diffusion", limit=2)
    assert time.monotonic() - started < 2.0
    error = info.value
    assert set(error.errors) == {"semanticscholar", "openalex"}
    assert "HTTP 500" in error.errors["semanticscholar"] and "gave up after 3 attempts" in str(error)
    assert "HTTP 502" in error.errors["openalex"]
    assert str(error).startswith("literature search unavailable: semanticscholar: HTTP 500")


async def test_connection_refused_is_retried_then_falls_back(server: FakeScholar, tmp_path: Path) -> None:
    search = make_search(server, tmp_path, api_base=closed_port_url())
    papers = await search.search("denoising diffusion", limit=2)
    assert papers[0].source == "openalex"


async def test_timeout_is_handled_and_bounded(server: FakeScholar, tmp_path: Path) -> None:
    server.always("s2", slow(10))
    search = make_search(server, tmp_path, timeout_s=0.3, max_attempts=2)
    started = time.monotonic()
    papers = await search.search("denoising diffusion", limit=2)
    assert papers[0].source == "openalex"
    assert len(server.requests_to("s2")) == 2
    assert time.monotonic() - started < 1.5

    server.always("openalex", slow(10))
    with pytest.raises(LiteratureUnavailable, match=r"timed out after 0\.3s"):
        await search.search("score based generative", limit=2)


async def test_deadline_bounds_time_on_one_engine(server: FakeScholar, tmp_path: Path) -> None:
    server.always("s2", slow(10))
    search = make_search(server, tmp_path, fallback_api_base=None, timeout_s=0.25, max_attempts=20, deadline_s=0.6)
    started = time.monotonic()
    with pytest.raises(LiteratureUnavailable, match="deadline"):
        await search.search("denoising diffusion", limit=2)
    assert time.monotonic() - started < 1.0
    assert len(server.requests_to("s2")) <= 3
