"""Matching an entry the model wrote against literature records: normalised titles, years, cite keys."""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from sciswarm.literature.bibtex import key_matches
from sciswarm.literature.models import Paper

TITLE_SIMILARITY = 0.9
YEAR_SLACK = 1


@dataclass
class Claim:
    """A bibliography entry the model wrote (no recorded origin)."""

    key: str
    found_in: Literal["bib", "filecontents", "bibitem"]
    title: str = ""
    year: int | None = None
    text: str = ""  # a \bibitem's whole text (normalised), for matching by containment


# ---- titles -------------------------------------------------------------------------------------------------
def normalize_title(text: str) -> str:
    """Lower-case ASCII words of a title, LaTeX markup dropped: ``{\\TeX}book`` -> ``texbook``,
    ``\\emph{Deep} Learning.`` -> ``deep learning``."""
    text = re.sub(r"\\[A-Za-z]+\s*(?=\{)", " ", text)  # \emph{x} -> x
    text = re.sub(r"\\([A-Za-z]+)", r"\1", text)  # \TeX -> TeX
    text = re.sub(r"\\[^A-Za-z]", "", text)  # \'e -> e, \& -> ''
    text = text.replace("{", "").replace("}", "")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def title_similarity(a: str, b: str) -> float:
    """``difflib`` ratio of the two normalised titles (1.0: the same words in the same order)."""
    x, y = normalize_title(a), normalize_title(b)
    if not x or not y:
        return 0.0
    return difflib.SequenceMatcher(None, x, y, autojunk=False).ratio()


def _year_ok(year: int | None, paper: Paper) -> bool:
    return year is None or paper.year is None or abs(year - paper.year) <= YEAR_SLACK


def match_record(claim: Claim | None, key: str, papers: list[Paper]) -> tuple[Paper, float | None] | None:
    """The record among ``papers`` that this entry (or, without one, this key) is; with its title similarity
    (None when matched by the key). A claim with a title is judged by the title only."""
    if claim is not None and claim.title:
        best: tuple[Paper, float | None] | None = None
        for paper in papers:
            if not _year_ok(claim.year, paper):
                continue
            sim = title_similarity(claim.title, paper.title)
            whole = normalize_title(paper.title)
            if claim.found_in == "bibitem" and len(whole.split()) >= 3 and f" {whole} " in f" {claim.text} ":
                sim = max(sim, 1.0)
            if sim >= TITLE_SIMILARITY and (best is None or sim > (best[1] or 0.0)):
                best = (paper, round(sim, 3))
        return best
    for paper in papers:
        if key_matches(key, paper):
            return paper, None
    return None
