"""Semantic Scholar engine: ``GET /graph/v1/paper/search`` through the ``semanticscholar`` package.

semanticscholar 0.12.0 builds the request and parses the page, but its HTTP layer does not suit us:
with ``retry=True`` it retries a 429 up to 10 times with 5-60 s waits (minutes of hanging), and whatever
``retry`` is, a 502/503 (or any status it does not list) comes back as ``{}``, which reads as "no
results" and would be cached as such. So we construct the client with ``retry=False`` and replace its
requester with ``_StrictRequester``, which fails loudly on every non-200 status; our own bounded retry
loop (``retry.run_with_retries``) wraps each call.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from pydantic import ValidationError
from semanticscholar import AsyncSemanticScholar
from semanticscholar.ApiRequester import ApiRequester

from sciswarm.literature.bibtex import cite_key, normalize_bibtex
from sciswarm.literature.models import Paper
from sciswarm.literature.retry import EngineError, check_response, http_client

NAME = "semanticscholar"
FIELDS = [
    "title",
    "abstract",
    "year",
    "venue",
    "authors",
    "citationCount",
    "url",
    "externalIds",
    "citationStyles",
]
MAX_LIMIT = 100


class _StrictRequester(ApiRequester):
    """The package's requester, minus its retry loop and its silent ``{}`` on unexpected statuses."""

    async def get_data_async(
        self, url: str, parameters: str, headers: dict[str, str], payload: dict[str, Any] | None = None
    ) -> Any:
        async with http_client(self.timeout) as client:
            response = await client.request(
                "POST" if payload else "GET", url, params=parameters, headers=headers, json=payload
            )
        data = check_response(response, NAME)
        if isinstance(data, dict) and set(data) == {"error"}:
            raise EngineError(f"{NAME}: API error: {data['error']}", retryable=False)
        return data


def _new_client(api_base: str, api_key: str | None, timeout_s: float) -> Any:
    # AsyncSemanticScholar.__init__ calls logging.basicConfig(); undo that side effect on the root logger.
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    client = AsyncSemanticScholar(timeout=timeout_s, api_key=api_key, api_url=api_base, retry=False)
    root.handlers[:], root.level = handlers, level
    client._requester = _StrictRequester(timeout_s, retry=False)
    return client


def clean_query(query: str) -> str:
    """S2 takes plain text; the package puts the query in the URL unescaped, and hyphenated terms match
    nothing (per the API docs), so characters with URL or search meaning become spaces."""
    return " ".join(re.sub(r"[&#%+=?;/\\\-]", " ", query).split())


def paper_from_s2(data: dict[str, Any]) -> Paper:
    external = data.get("externalIds") or {}
    styles = data.get("citationStyles") or {}
    paper = Paper(
        paper_id=data.get("paperId") or "",
        title=" ".join((data.get("title") or "").split()),
        abstract=data.get("abstract") or None,
        year=data.get("year"),
        venue=data.get("venue") or None,
        authors=[a["name"] for a in data.get("authors") or [] if a.get("name")],
        citation_count=data.get("citationCount"),
        url=data.get("url"),
        doi=external.get("DOI"),
        arxiv_id=external.get("ArXiv"),
        source=NAME,
    )
    if styles.get("bibtex"):
        try:
            paper.bibtex = normalize_bibtex(styles["bibtex"], cite_key(paper))
        except ValueError:
            paper.bibtex = None  # unparsable: bibtex_for() generates one from the metadata
    return paper


class SemanticScholarEngine:
    name = NAME

    def __init__(self, api_base: str, api_key: str | None, timeout_s: float) -> None:
        self.api_base = api_base.rstrip("/")
        self._client = _new_client(self.api_base, api_key, timeout_s)

    async def search(self, query: str, limit: int) -> list[Paper]:
        """One request (no retries here): the first page of the relevance search."""
        text = clean_query(query)
        if not text:
            return []
        results = await self._client.search_paper(text, fields=FIELDS, limit=max(1, min(limit, MAX_LIMIT)))
        papers = []
        for item in results.raw_data:
            if not item.get("title"):
                continue
            try:
                papers.append(paper_from_s2(item))
            except ValidationError:
                continue  # one malformed record should not sink the whole search
        return papers[:limit]
