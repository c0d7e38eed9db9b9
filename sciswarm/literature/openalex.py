"""OpenAlex engine: ``GET /works?search=...`` via httpx (the fallback when Semantic Scholar fails)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from sciswarm.literature.models import Paper
from sciswarm.literature.retry import EngineError, check_response, http_client

NAME = "openalex"
MAX_LIMIT = 200
SELECT = ",".join(
    [
        "id",
        "doi",
        "title",
        "display_name",
        "publication_year",
        "cited_by_count",
        "authorships",
        "primary_location",
        "abstract_inverted_index",
    ]
)


def abstract_from_inverted_index(index: dict[str, list[int]] | None) -> str | None:
    """OpenAlex ships abstracts as {word: [positions]}; put the words back in order."""
    if not index:
        return None
    positions = {pos: word for word, where in index.items() for pos in where}
    return " ".join(positions[p] for p in sorted(positions)) or None


def _strip_prefix(value: str | None, prefix: str) -> str | None:
    if not value:
        return None
    return value[len(prefix) :] if value.lower().startswith(prefix) else value


def paper_from_openalex(work: dict[str, Any]) -> Paper:
    doi = _strip_prefix(work.get("doi"), "https://doi.org/")
    location = work.get("primary_location") or {}
    source = location.get("source") or {}
    arxiv_id = doi[len("10.48550/arxiv.") :] if doi and doi.lower().startswith("10.48550/arxiv.") else None
    return Paper(
        paper_id=_strip_prefix(work.get("id"), "https://openalex.org/") or "",
        title=" ".join((work.get("title") or work.get("display_name") or "").split()),
        abstract=abstract_from_inverted_index(work.get("abstract_inverted_index")),
        year=work.get("publication_year"),
        venue=source.get("display_name") or None,
        authors=[
            a["author"]["display_name"]
            for a in work.get("authorships") or []
            if (a.get("author") or {}).get("display_name")
        ],
        citation_count=work.get("cited_by_count"),
        url=work.get("doi") or location.get("landing_page_url") or work.get("id"),
        doi=doi,
        arxiv_id=arxiv_id,
        source=NAME,
    )


class OpenAlexEngine:
    name = NAME

    def __init__(self, api_base: str, timeout_s: float, mailto: str | None = None) -> None:
        self.api_base = api_base.rstrip("/")
        self.timeout_s = timeout_s
        self.mailto = mailto

    async def search(self, query: str, limit: int) -> list[Paper]:
        """One request (no retries here): the first page of ``/works?search=``."""
        text = " ".join(query.split())
        if not text:
            return []
        params: dict[str, str | int] = {
            "search": text,
            "per-page": max(1, min(limit, MAX_LIMIT)),
            "select": SELECT,
        }
        if self.mailto:
            params["mailto"] = self.mailto
        async with http_client(self.timeout_s) as client:
            response = await client.get(f"{self.api_base}/works", params=params)
        data = check_response(response, NAME)
        if not isinstance(data, dict) or not isinstance(data.get("results"), list):
            raise EngineError(f"{NAME}: unexpected response shape (no 'results' list)", retryable=False)
        papers = []
        for work in data["results"]:
            if not (work.get("title") or work.get("display_name")):
                continue
            try:
                papers.append(paper_from_openalex(work))
            except (ValidationError, KeyError, TypeError):
                continue
        return papers[:limit]
