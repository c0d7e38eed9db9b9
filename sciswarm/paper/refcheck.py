"""The reference check run before a paper is compiled: every cited key must resolve to an entry that came from
the template or from a literature record (their origins are in references.json, see ``references.py``).

A cited key whose entry has no recorded origin is *invented*: the model wrote it (an entry appended to the .bib,
an inline ``filecontents`` block, a ``\\bibitem``) or cited a key no entry defines. For each one the literature
is searched, with the entry's title, else the key's words:

- an entry with a title is the record whose normalised title (lower case, ASCII, LaTeX markup and punctuation
  dropped) has a ``difflib`` similarity of at least ``TITLE_SIMILARITY`` with it, the year (when both give one)
  within ``YEAR_SLACK``; a ``\\bibitem`` also matches a record whose whole normalised title appears in it;
- a key alone is a record it names (``bibtex.key_matches``: the record's own key, or surname + year + title word).

A match replaces the entry by the record's BibTeX (under its stable key) and the ``\\cite`` keys are rewritten
to it; otherwise the entry is removed and the key dropped from every cite command (``\\cite{a,b}`` ->
``\\cite{a}``; a cite left empty goes with the space or tie before it). Entries without an origin that nothing
cites are dropped too. The report (``ReferenceReport``) is saved in references.json.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal, Protocol

from sciswarm.literature.bibtex import key_words
from sciswarm.literature.models import Paper
from sciswarm.paper.bib import bib_keys, list_keys, remove_entries
from sciswarm.paper.checks import strip_tex
from sciswarm.paper.cite_edits import cited_in, claims_in_bibtex, edit_cites, take_bibitems, take_filecontents
from sciswarm.paper.references import (
    BIBITEM,
    InventedKey,
    ReferenceReport,
    References,
    add_literature,
    load_references,
    save_references,
)
from sciswarm.paper.refmatch import TITLE_SIMILARITY, Claim, match_record

SEARCH_LIMIT = 5

_BIBLIOGRAPHY = re.compile(r"\\bibliography\s*\{([^{}]+)\}")


class Search(Protocol):
    """What the check needs from the literature search (``LiteratureSearch``)."""

    async def search(self, query: str, limit: int = 10) -> list[Paper]: ...

    async def bibtex(self, paper: Paper) -> str: ...


def _bib_files(paper_dir: Path, bib: Path, tex: str) -> list[Path]:
    """The main bibliography and the other .bib files of the folder that ``\\bibliography`` names."""
    names = [n.strip() for m in _BIBLIOGRAPHY.finditer(strip_tex(tex)) for n in m.group(1).split(",")]
    files = [bib]
    for name in filter(None, names):
        path = paper_dir / (name if name.endswith(".bib") else f"{name}.bib")
        if path.is_file() and path.resolve().parent == paper_dir.resolve() and path not in files:
            files.append(path)
    return files


# ---- the check ------------------------------------------------------------------------------------------------
class _Finder:
    """Literature look-ups for one check: each query searched once; after the first outage, none."""

    def __init__(self, search: Search | None) -> None:
        self.search = search
        self.down: str | None = None if search is not None else "no literature search is configured"
        self.results: dict[str, list[Paper]] = {}

    async def find(self, query: str) -> list[Paper]:
        query = " ".join(query.split())[:300]
        if self.search is None or self.down is not None or not query:
            return []
        if query not in self.results:
            try:
                self.results[query] = await self.search.search(query, limit=SEARCH_LIMIT)
            except Exception as exc:  # LiteratureUnavailable, or any engine failure: nothing is verified
                self.down = f"literature search unavailable: {getattr(exc, 'reason', exc)}"
                return []
        return self.results[query]


async def verify_references(paper_dir: Path, main: str, bib: Path, search: Search | None) -> ReferenceReport:
    """Make every cited key of ``paper_dir/main`` backed by the template or a literature record (see the module
    docstring), rewrite the .tex and the .bib accordingly, save and return the report."""
    paper_dir = Path(paper_dir)
    tex_path = paper_dir / main
    refs = load_references(paper_dir)
    original = tex_path.read_text(encoding="utf-8", errors="replace")
    template_items = {k for k, o in refs.entries.items() if o.source == "template" and o.file == main}
    tex, claims = take_filecontents(original, set(refs.template_blocks))
    tex, items = take_bibitems(tex, template_items)
    claims += items
    bibs = _bib_files(paper_dir, bib, tex)
    for path in bibs:
        text = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
        unbacked = [c for c in claims_in_bibtex(text, "bib") if c.key not in refs.entries]
        remove_entries(path, [c.key for c in unbacked])
        claims += unbacked
    defined = {k for path in bibs for k in list_keys(path)} | {k.strip() for k in BIBITEM.findall(tex)}
    backed = {k for k in defined if k in refs.entries}
    by_key = {c.key: c for c in reversed(claims)}  # the first claim of a key wins
    by_fold = {c.key.casefold(): c for c in reversed(claims)}
    finder = _Finder(search)
    rename: dict[str, str] = {}
    remove: set[str] = set()
    events: list[InventedKey] = []
    can_add = bool(_BIBLIOGRAPHY.search(strip_tex(tex)))
    cited = cited_in(tex)
    for key in cited:
        if key in backed:
            continue
        claim = by_key.get(key) or by_fold.get(key.casefold())
        event = await _resolve(key, claim, refs, finder, backed, paper_dir, bib, can_add)
        if event.action == "replaced" and event.replaced_by:
            backed.add(event.replaced_by)
            if event.replaced_by != key:
                rename[key] = event.replaced_by
        else:
            remove.add(key)
        events.append(event)
    tex = edit_cites(tex, rename, remove)
    if tex != original:
        tex_path.write_text(tex, encoding="utf-8")
    refs = load_references(paper_dir)  # add_literature recorded the replacements' origins
    cited_fold = {k.casefold() for k in cited}
    report = _report(refs, cited_in(tex), events, [c.key for c in claims if c.key.casefold() not in cited_fold])
    refs.report = report
    save_references(paper_dir, refs)
    return report


async def _resolve(
    key: str,
    claim: Claim | None,
    refs: References,
    finder: _Finder,
    backed: set[str],
    paper_dir: Path,
    bib: Path,
    can_add: bool,
) -> InventedKey:
    found_in: Literal["bib", "filecontents", "bibitem", "nowhere"] = claim.found_in if claim else "nowhere"
    base = InventedKey(key=key, found_in=found_in, claimed_title=claim.title if claim else "", action="removed")
    folded = {k.casefold(): k for k in backed}
    if claim is None and key.casefold() in folded:
        real = folded[key.casefold()]
        return _replaced(base, real, refs, None, "the key of a backed entry, in another case")
    if not can_add:
        return base.model_copy(update={"reason": "the paper has no \\bibliography to put a real entry in"})
    query = claim.title if claim and claim.title else key_words(key) or key
    match = match_record(claim, key, await finder.find(query))
    if match is None:
        if finder.down:
            reason = finder.down
        elif claim and claim.title:
            reason = f"no literature record has this title (similarity >= {TITLE_SIMILARITY})"
        else:
            reason = "no literature record matches this key"
        return base.model_copy(update={"reason": reason})
    paper, similarity = match
    assert finder.search is not None  # a match came from it
    entry = await finder.search.bibtex(paper)
    new_key = bib_keys(entry)[0]
    if new_key.casefold() in folded:
        new_key = folded[new_key.casefold()]  # already in the paper: cite that entry
    else:
        add_literature(paper_dir, bib, [(paper, entry)])
    how = "title" if similarity is not None else "key"
    return _replaced(base, new_key, load_references(paper_dir), similarity, f"matched a literature record by {how}")


def _replaced(base: InventedKey, real: str, refs: References, similarity: float | None, reason: str) -> InventedKey:
    origin = refs.origin(real)
    return base.model_copy(
        update={
            "action": "replaced",
            "replaced_by": real,
            "engine": origin.engine if origin else "",
            "record_id": origin.record_id if origin else "",
            "matched_title": origin.title if origin else "",
            "similarity": similarity,
            "reason": reason,
        }
    )


def _report(refs: References, cited: list[str], events: list[InventedKey], uncited: list[str]) -> ReferenceReport:
    prior = refs.report or ReferenceReport()
    invented = [*prior.invented, *events]
    sources = [o.source for k in cited if (o := refs.origin(k)) is not None]
    return ReferenceReport(
        cited=len(cited),
        literature=sources.count("literature"),
        template=sources.count("template"),
        invented_replaced=sum(1 for i in invented if i.action == "replaced"),
        invented_removed=sum(1 for i in invented if i.action == "removed"),
        invented=invented,
        uncited_dropped=list(dict.fromkeys([*prior.uncited_dropped, *uncited])),
        checks=prior.checks + 1,
        new_invented=len(events),
    )
