"""Searching Semantic Scholar (and OpenAlex as the primary engine): what is parsed and what is asked for."""

from __future__ import annotations

from pathlib import Path

import pytest
from literature_support import make_search
from support.fake_scholar import FakeScholar
from support.scholar_records import DDPM_ABSTRACT

from sciswarm.literature import LiteratureSearch, LiteratureUnavailable


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


async def test_engine_none_disables_search(tmp_path: Path) -> None:
    search = LiteratureSearch.from_config({"engine": "none", "cache_path": None}, base_dir=tmp_path)
    with pytest.raises(LiteratureUnavailable, match="disabled"):
        await search.search("anything")


async def test_openalex_as_primary_engine(server: FakeScholar, tmp_path: Path) -> None:
    search = make_search(server, tmp_path, engine="openalex")
    papers = await search.search("denoising diffusion", limit=2)
    assert {p.source for p in papers} == {"openalex"} and not server.requests_to("s2")


async def test_invalid_arguments(server: FakeScholar, tmp_path: Path) -> None:
    search = make_search(server, tmp_path)
    with pytest.raises(ValueError):
        await search.search("   ")
    with pytest.raises(ValueError):
        await search.search("x", limit=0)
    assert server.requests == []
