"""sciswarm.literature against a real HTTP server on 127.0.0.1 that speaks the S2 and OpenAlex APIs."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.fake_scholar import DDPM_ABSTRACT, FakeScholar, fail, ok, slow

from sciswarm.literature import (
    LiteratureSearch,
    LiteratureUnavailable,
    Paper,
    cite_key,
    format_for_prompt,
    generate_bibtex,
    normalize_bibtex,
)


@pytest.fixture
def server() -> Iterator[FakeScholar]:
    with FakeScholar() as fake:
        yield fake


def make_search(server: FakeScholar, tmp_path: Path, **overrides: Any) -> LiteratureSearch:
    cfg: dict[str, Any] = {
        "api_base": server.url,
        "fallback_api_base": server.url,
        "api_key_env": "SCISWARM_TEST_S2_KEY",
        "cache_path": "cache.sqlite",
        "min_interval_s": 0,
        "max_attempts": 3,
        "timeout_s": 2,
        "backoff_base_s": 0.01,
        "backoff_max_s": 0.05,
        "deadline_s": 5,
    }
    cfg.update(overrides)
    return LiteratureSearch.from_config(cfg, base_dir=tmp_path)


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# -- Semantic Scholar ------------------------------------------------------------------------------------


async def test_search_parses_semantic_scholar_results(
    server: FakeScholar, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCISWARM_TEST_S2_KEY", "key-123")
    search = make_search(server, tmp_path)
    papers = await search.search("denoising diffusion probabilistic models", limit=3)

    assert [p.title for p in papers][:1] == ["Denoising Diffusion Probabilistic Models"]
    assert len(papers) <= 3
    ddpm = papers[0]
    assert ddpm.authors == ["Jonathan Ho", "Ajay Jain", "P. Abbeel"]
    assert (ddpm.year, ddpm.venue, ddpm.citation_count) == (
        2020,
        "Neural Information Processing Systems",
        15000,
    )
    assert ddpm.arxiv_id == "2006.11239" and ddpm.doi is None and ddpm.source == "semanticscholar"
    assert ddpm.abstract == DDPM_ABSTRACT
    assert ddpm.url and ddpm.url.endswith(ddpm.paper_id) and len(ddpm.paper_id) == 40
    assert ddpm.bibtex and ddpm.bibtex.startswith("@inproceedings{ho2020denoising,")

    (request,) = server.requests
    assert request.path == "/graph/v1/paper/search"
    assert request.params["query"] == "denoising diffusion probabilistic models"
    assert request.params["limit"] == "3" and request.params["offset"] == "0"
    assert set(request.params["fields"].split(",")) >= {"title", "abstract", "externalIds", "citationStyles"}
    assert request.headers.get("x-api-key") == "key-123"


async def test_query_punctuation_is_cleaned_for_s2(server: FakeScholar, tmp_path: Path) -> None:
    search = make_search(server, tmp_path)
    papers = await search.search("score-based generative & SDE?", limit=5)
    assert papers and papers[0].title.startswith("Score-Based Generative Modeling")
    assert server.requests[0].params["query"] == "score based generative SDE"
    assert "x-api-key" not in server.requests[0].headers


async def test_no_results_is_an_empty_list_and_is_cached(server: FakeScholar, tmp_path: Path) -> None:
    search = make_search(server, tmp_path)
    assert await search.search("quantum gravity loops", limit=5) == []
    assert await search.search("quantum gravity loops", limit=5) == []
    assert len(server.requests) == 1


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


# -- cache -------------------------------------------------------------------------------------------------


async def test_cache_hit_makes_no_request_and_persists(server: FakeScholar, tmp_path: Path) -> None:
    search = make_search(server, tmp_path)
    first = await search.search("Denoising   Diffusion", limit=3)
    assert len(server.requests) == 1

    assert await search.search("denoising diffusion", limit=3) == first  # case/space-insensitive
    assert await search.search("denoising diffusion", limit=1) == first[:1]  # a larger entry serves
    search.close()
    reopened = make_search(server, tmp_path)  # same SQLite file
    assert await reopened.search("denoising diffusion", limit=3) == first
    assert len(server.requests) == 1

    await reopened.search("denoising diffusion", limit=5)  # larger than any entry: a real search
    assert len(server.requests) == 2


async def test_fallback_results_are_cached_too(server: FakeScholar, tmp_path: Path) -> None:
    server.always("s2", fail(500))
    search = make_search(server, tmp_path)
    await search.search("denoising diffusion", limit=2)
    count = len(server.requests)
    papers = await search.search("denoising diffusion", limit=2)
    assert papers[0].source == "openalex" and len(server.requests) == count


async def test_cache_only_miss_raises_without_network(server: FakeScholar, tmp_path: Path) -> None:
    search = make_search(server, tmp_path, cache_only=True)
    with pytest.raises(LiteratureUnavailable) as info:
        await search.search("denoising diffusion", limit=2)
    assert info.value.reason.startswith("not in cache")
    assert server.requests == []


async def test_engine_none_disables_search(tmp_path: Path) -> None:
    search = LiteratureSearch.from_config({"engine": "none", "cache_path": None}, base_dir=tmp_path)
    with pytest.raises(LiteratureUnavailable, match="disabled"):
        await search.search("anything")


async def test_openalex_as_primary_engine(server: FakeScholar, tmp_path: Path) -> None:
    search = make_search(server, tmp_path, engine="openalex")
    papers = await search.search("denoising diffusion", limit=2)
    assert {p.source for p in papers} == {"openalex"} and not server.requests_to("s2")


async def test_json_export_import_round_trip(server: FakeScholar, tmp_path: Path) -> None:
    search = make_search(server, tmp_path)
    ddpm = await search.search("denoising diffusion", limit=3)
    song = await search.search("stochastic differential equations", limit=2)
    export = tmp_path / "demo" / "literature_cache.json"
    assert search.export_cache(export) == 2

    data = json.loads(export.read_text())
    assert data["format"] == "sciswarm.literature-cache/1"
    assert [(e["engine"], e["query"], e["limit"]) for e in data["entries"]] == [
        ("semanticscholar", "denoising diffusion", 3),
        ("semanticscholar", "stochastic differential equations", 2),
    ]

    requests_before = len(server.requests)
    offline = LiteratureSearch.from_config(
        {"cache_path": None, "seed_cache_json": "demo/literature_cache.json", "cache_only": True},
        base_dir=tmp_path,
    )
    assert await offline.search("Denoising Diffusion", limit=3) == ddpm
    assert await offline.search("stochastic differential equations", limit=2) == song
    assert len(server.requests) == requests_before

    minimal = tmp_path / "minimal.json"  # hand-written seed: only the required keys
    minimal.write_text(
        json.dumps({"entries": [{"query": "x", "limit": 1, "papers": [{"paper_id": "p", "title": "T"}]}]})
    )
    assert offline.import_cache(minimal) == 1
    assert (await offline.search("x", limit=1))[0].title == "T"

    bad = tmp_path / "bad.json"
    bad.write_text('{"entries": [{"query": "x"}]}')
    with pytest.raises(ValueError, match=r"bad\.json"):
        offline.import_cache(bad)


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


# -- BibTeX ------------------------------------------------------------------------------------------------


async def test_bibtex_from_citation_styles(server: FakeScholar, tmp_path: Path) -> None:
    search = make_search(server, tmp_path)
    (ddpm,) = await search.search("denoising diffusion probabilistic", limit=1)
    assert await search.bibtex(ddpm) == (
        "@inproceedings{ho2020denoising,\n"
        "  title = {Denoising Diffusion Probabilistic Models},\n"
        "  author = {Jonathan Ho and Ajay Jain and P. Abbeel},\n"
        "  booktitle = {Neural Information Processing Systems},\n"
        "  journal = {ArXiv},\n"
        "  volume = {abs/2006.11239},\n"
        "  year = {2020}\n"
        "}\n"
    )
    papers = await search.search("score based stochastic differential equations", limit=1)
    assert (await search.bibtex(papers[0])).startswith("@article{song2020score,\n")
    papers = await search.search("diffusion models beat gans", limit=1)
    assert (await search.bibtex(papers[0])).startswith("@inproceedings{dhariwal2021diffusion,\n")  # was @None
    grokking = (await search.search("grokking", limit=1))[0]
    assert grokking.bibtex is None  # no citationStyles: generated
    assert (await search.bibtex(grokking)).startswith("@article{power2022grokking,\n")


async def test_generated_bibtex(server: FakeScholar, tmp_path: Path) -> None:
    server.always("s2", fail(500))
    search = make_search(server, tmp_path)
    ddpm = (await search.search("denoising diffusion probabilistic", limit=1))[0]
    assert await search.bibtex(ddpm) == (
        "@article{ho2020denoising,\n"
        "  title = {Denoising Diffusion Probabilistic Models},\n"
        "  author = {Jonathan Ho and Ajay Jain and Pieter Abbeel},\n"
        "  journal = {arXiv preprint arXiv:2006.11239},\n"
        "  year = {2020},\n"
        "  doi = {10.48550/arxiv.2006.11239},\n"
        "  archiveprefix = {arXiv},\n"
        "  eprint = {2006.11239}\n"
        "}\n"
    )
    paper = Paper(paper_id="x", title="Q&A for 100% of_data", venue="Proceedings of ICML", year=2023)
    text = generate_bibtex(paper)
    assert text.startswith("@inproceedings{anon2023qa,") and r"Q\&A for 100\% of\_data" in text


def test_cite_keys() -> None:
    def key(title: str, authors: list[str], year: int | None = 2020) -> str:
        return cite_key(Paper(paper_id="p", title=title, authors=authors, year=year))

    assert key("Denoising Diffusion Probabilistic Models", ["Jonathan Ho"]) == "ho2020denoising"
    assert key("On the Difficulty of Training RNNs", ["Razvan Pascanu"], 2013) == "pascanu2013difficulty"
    assert key("Attention Is All You Need", ["Ashish Vaswani"], 2017) == "vaswani2017attention"
    assert key("Étude des réseaux", ["José León"]) == "leon2020etude"
    assert key("A Survey", ["Smith, John"], None) == "smithndsurvey"
    assert key("The", []) == "anon2020"


def test_normalize_bibtex_is_idempotent_and_rejects_garbage() -> None:
    raw = '@Article{León2022X,\n author = {T. León},\n title = "Fast {GPU} kernels & more",\n year = 2022\n}'
    once = normalize_bibtex(raw, "leon2022fast")
    assert once.startswith("@article{leon2022fast,") and r"{Fast {GPU} kernels \& more}" in once
    assert normalize_bibtex(once, "leon2022fast") == once
    with pytest.raises(ValueError):
        normalize_bibtex("not bibtex at all", "k")


# -- prompt text and misc ----------------------------------------------------------------------------------


def test_format_for_prompt() -> None:
    long = Paper(
        paper_id="a",
        title="Long Paper",
        abstract="word " * 200,
        year=2021,
        venue="ICML",
        authors=["Ann Lee", "Bo Chen", "Cy Dee"],
        citation_count=42,
    )
    bare = Paper(paper_id="b", title="Bare Paper")
    text = format_for_prompt([long, bare])
    lines = text.splitlines()
    assert lines[0] == "1. Long Paper (Lee et al., 2021, ICML; 42 citations)"
    assert lines[1].startswith("   word word") and lines[1].endswith("…") and len(lines[1]) <= 3 + 300
    assert lines[2:] == ["2. Bare Paper", "   (no abstract)"]
    assert format_for_prompt([long], with_keys=True).startswith("1. [lee2021long] Long Paper")
    assert format_for_prompt([]) == "No papers found."


def test_to_ref_and_root_logger_untouched(server: FakeScholar, tmp_path: Path) -> None:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    make_search(server, tmp_path)  # semanticscholar's client calls logging.basicConfig() on creation
    assert (root.handlers, root.level) == (handlers, level)

    ref = Paper(paper_id="p", title="T", authors=["A B", "C D"], year=2020, citation_count=3).to_ref()
    assert (ref.authors, ref.venue, ref.citation_count) == ("B and D", "", 3)


async def test_invalid_arguments(server: FakeScholar, tmp_path: Path) -> None:
    search = make_search(server, tmp_path)
    with pytest.raises(ValueError):
        await search.search("   ")
    with pytest.raises(ValueError):
        await search.search("x", limit=0)
    assert server.requests == []


# -- one breaker per engine, shared by every search of a run ----------------------------------------------


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
