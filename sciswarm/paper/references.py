"""Where every bibliography entry of a paper came from, and what the reference check found: the one owner of
``references.json`` in the paper folder.

An entry's origin is ``template`` (in the template's own .bib, ``filecontents`` block or ``thebibliography``
when the writer set the paper folder up) or ``literature`` (merged from a Semantic Scholar / OpenAlex record,
with the engine and the record's id). An entry with no origin was written by the model; the reference check
(``paper/refcheck.py``) replaces it with a real record or removes it, and its report is kept here::

    {"format": "sciswarm.references/1",
     "entries": {"ho2020denoising": {"source": "literature", "engine": "semanticscholar",
                                     "record_id": "arXiv:2006.11239", "title": "...", "year": 2020, ...},
                 "knuth1984texbook": {"source": "template", "file": "references.bib", ...}},
     "template_blocks": ["<sha256 of the template's filecontents blocks>"],
     "report": {"cited": 7, "literature": 4, "template": 3, "invented_replaced": 1, "invented_removed": 1,
                "invented": [{"key": "smith2023", "action": "removed", ...}], ...}}
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from sciswarm.literature.models import Paper
from sciswarm.paper.bib import MergeResult, bib_keys, filecontents_blocks, list_keys, merge_bibtex

FILE = "references.json"
BIBITEM = re.compile(r"\\bibitem\s*(?:\[[^\]]*\])?\s*\{([^{}]+)\}")


class Origin(BaseModel):
    """Where one bibliography entry came from."""

    source: Literal["template", "literature"]
    file: str = ""  # template: the file that defined it (references.bib, template.tex)
    engine: str = ""  # literature: "semanticscholar" | "openalex"
    record_id: str = ""  # literature: the engine's id (S2 paperId, OpenAlex work id)
    title: str = ""
    year: int | None = None
    doi: str | None = None
    arxiv_id: str | None = None
    url: str | None = None


class InventedKey(BaseModel):
    """A cited key no template or literature record backed, and what the check did with it."""

    key: str
    found_in: Literal["bib", "filecontents", "bibitem", "nowhere"]  # where the model's entry was
    claimed_title: str = ""  # the title the model's entry gave (empty: none, or no entry at all)
    action: Literal["replaced", "removed"]
    replaced_by: str | None = None  # the real entry's key
    engine: str = ""
    record_id: str = ""
    matched_title: str = ""
    similarity: float | None = None  # normalised title similarity of the match (None: matched by key)
    reason: str = ""


class ReferenceReport(BaseModel):
    """The reference check's counts (what the claims audit shows). ``cited``, ``literature`` and ``template``
    describe the paper after the last check (every cited key is then backed: literature + template == cited);
    ``invented`` lists every invented key any check met, so a later check does not forget earlier ones."""

    cited: int = 0
    literature: int = 0
    template: int = 0
    invented_replaced: int = 0
    invented_removed: int = 0
    invented: list[InventedKey] = Field(default_factory=list)
    uncited_dropped: list[str] = Field(default_factory=list)  # entries without origin that nothing cited
    checks: int = 0  # reference checks run on this paper
    new_invented: int = 0  # how many of ``invented`` (the last ones) the last check met

    def counts(self) -> dict[str, int]:
        """The counts for the claims audit (``AuditReport.references``)."""
        return {
            "cited": self.cited,
            "literature": self.literature,
            "template": self.template,
            "replaced": self.invented_replaced,
            "removed": self.invented_removed,
        }

    def summary(self) -> str:
        text = (
            f"references: {self.cited} cited key(s), {self.literature} from the literature, "
            f"{self.template} from the template; invented: {self.invented_replaced} replaced by real "
            f"records, {self.invented_removed} removed"
        )
        if self.invented:
            text += " (" + "; ".join(_describe(i) for i in self.invented) + ")"
        return text


def _describe(item: InventedKey) -> str:
    if item.action == "replaced":
        return f"{item.key} -> {item.replaced_by}"
    return f"{item.key} removed"


class References(BaseModel):
    format: Literal["sciswarm.references/1"] = "sciswarm.references/1"
    entries: dict[str, Origin] = Field(default_factory=dict)
    template_blocks: list[str] = Field(default_factory=list)  # sha256 of the template's filecontents blocks
    template_recorded: bool = False
    report: ReferenceReport | None = None

    def origin(self, key: str) -> Origin | None:
        return self.entries.get(key)


def block_hash(text: str) -> str:
    return hashlib.sha256(text.strip().encode()).hexdigest()


def load_references(paper_dir: Path) -> References:
    """The paper folder's references.json (empty when there is none yet)."""
    path = Path(paper_dir) / FILE
    if not path.is_file():
        return References()
    return References.model_validate(json.loads(path.read_text(encoding="utf-8")))


def save_references(paper_dir: Path, refs: References) -> None:
    path = Path(paper_dir) / FILE
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(refs.model_dump_json(indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def reference_report(paper_dir: Path) -> ReferenceReport | None:
    """The last reference check's report for this paper (None before the first check): what the claims
    audit reads."""
    return load_references(paper_dir).report


def record_template(paper_dir: Path, main: str, template_dir: Path | None = None) -> References:
    """Record every entry the template itself defines as ``template``: its .bib files, its ``filecontents``
    blocks and its ``thebibliography`` items, read from ``template_dir`` (default: the paper folder, right
    after the template was copied there). Kept origins of other entries are not touched."""
    source = Path(template_dir) if template_dir is not None else Path(paper_dir)
    refs = load_references(paper_dir)
    found: dict[str, str] = {}
    for bib in sorted(source.glob("*.bib")):
        for key in list_keys(bib):
            found.setdefault(key, bib.name)
    tex_path = source / main
    tex = tex_path.read_text(encoding="utf-8", errors="replace") if tex_path.is_file() else ""
    blocks = []
    for m in filecontents_blocks(tex):
        blocks.append(block_hash(m.group(0)))
        for key in bib_keys(m.group(2)):
            found.setdefault(key, m.group(1).strip())
    for key in BIBITEM.findall(tex):
        found.setdefault(key.strip(), main)
    for key, file in found.items():
        refs.entries.setdefault(key, Origin(source="template", file=file))
    refs.template_blocks = sorted(set(refs.template_blocks) | set(blocks))
    refs.template_recorded = True
    save_references(paper_dir, refs)
    return refs


def engine_of(paper: Paper) -> str:
    """The engine a record came from. Records read back without it (the offline demo's hand-written cache)
    are named by their id's shape: OpenAlex work ids are ``W<digits>``, every other id is Semantic Scholar's
    (its paperId, or the ``arXiv:``/``DOI:`` forms its API accepts)."""
    if paper.source:
        return paper.source
    return "openalex" if re.fullmatch(r"W\d+", paper.paper_id) else "semanticscholar"


def origin_of(paper: Paper) -> Origin:
    return Origin(
        source="literature",
        engine=engine_of(paper),
        record_id=paper.paper_id,
        title=paper.title,
        year=paper.year,
        doi=paper.doi,
        arxiv_id=paper.arxiv_id,
        url=paper.url,
    )


def add_literature(paper_dir: Path, bib: Path, records: Iterable[tuple[Paper, str]]) -> MergeResult:
    """Merge the BibTeX of literature records (each ``(paper, its BibTeX)``) into ``bib`` and record each added
    entry's origin. A key already in the file keeps its entry and its origin (``skipped``)."""
    pairs = list(records)
    result = merge_bibtex(bib, [text for _, text in pairs])
    added = set(result.added)
    refs = load_references(paper_dir)
    for paper, text in pairs:
        for key in bib_keys(text):
            if key in added:
                refs.entries[key] = origin_of(paper)
    save_references(paper_dir, refs)
    return result
