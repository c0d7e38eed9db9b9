"""Data types shared by the literature engines, the cache and the roles."""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

from sciswarm.errors import ExpectedFailure
from sciswarm.events import PaperRef


class Paper(BaseModel):
    """One search result, normalised across engines (Semantic Scholar, OpenAlex)."""

    paper_id: str
    title: str
    abstract: str | None = None
    year: int | None = None
    venue: str | None = None
    authors: list[str] = Field(default_factory=list)
    citation_count: int | None = None
    url: str | None = None
    doi: str | None = None
    arxiv_id: str | None = None
    bibtex: str | None = None
    source: str = ""  # engine that produced the record: "semanticscholar" | "openalex"

    def short_authors(self) -> str:
        """Surnames for a citation line: "Ho", "Ho and Jain" or "Ho et al."."""
        names = [surname(a) for a in self.authors if a.strip()]
        if not names:
            return ""
        if len(names) == 1:
            return names[0]
        if len(names) == 2:
            return f"{names[0]} and {names[1]}"
        return f"{names[0]} et al."

    def to_ref(self) -> PaperRef:
        """The compact reference carried by bus messages (e.g. NoveltyVerdict.compared)."""
        return PaperRef(
            paper_id=self.paper_id,
            title=self.title,
            year=self.year,
            authors=self.short_authors(),
            venue=self.venue or "",
            citation_count=self.citation_count,
        )


class LiteratureUnavailable(ExpectedFailure, RuntimeError):
    """No engine could answer (network down, rate limited, disabled, or a cache-only miss).

    The novelty critic turns this into the verdict "unknown"; ``reason`` says why, ``errors`` maps each
    engine tried to its last error.
    """

    def __init__(self, reason: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(f"literature search unavailable: {reason}")
        self.reason = reason
        self.errors = dict(errors or {})


def surname(name: str) -> str:
    """Surname of an author written "First Last" or "Last, First"."""
    name = name.strip()
    if "," in name:
        return name.split(",", 1)[0].strip()
    parts = name.split()
    return parts[-1] if parts else ""


def normalize_query(query: str) -> str:
    """The cache's view of a query: case- and whitespace-insensitive."""
    return re.sub(r"\s+", " ", query).strip().lower()
