"""The SQLite cache of search results: hits, persistence, cache-only mode, and the JSON export and seed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from literature_support import make_search
from support.fake_scholar import FakeScholar, fail

from sciswarm.literature import LiteratureSearch, LiteratureUnavailable


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
