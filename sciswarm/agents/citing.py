"""The writer's citation rounds: the model asks for a search, picks papers from the results and writes the
sentence that cites them; the BibTeX comes from the literature search, never from the model. A sentence citing
a key the bibliography lacks is not added; a literature outage ends the rounds at once, and so does a model call
that fails for good (returned as ``GaveUp``; the sentences added so far stay). Every entry merged
records its literature origin (references.json), and ``check_references`` (run when the rounds end) makes
every cited key resolve to the template's or a literature record's entry."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from sciswarm.agents.base import RoleContext
from sciswarm.agents.paper_files import PaperFiles
from sciswarm.agents.paper_parts import extract_latex, outline
from sciswarm.errors import ExpectedFailure, one_line
from sciswarm.evidence.report import GaveUp
from sciswarm.paper.checks import cited_keys

if TYPE_CHECKING:
    from sciswarm.paper.references import ReferenceReport


class CiteQuery(BaseModel):
    Done: bool = False
    Query: str | None = None
    Section: str = "Related Work"
    Why: str = ""


async def citation_rounds(ctx: RoleContext[Any], files: PaperFiles, rounds: int) -> GaveUp | None:
    search = ctx.literature
    if search is None:
        return None
    from sciswarm.literature import format_for_prompt
    from sciswarm.paper.references import add_literature

    system = ctx.prompts.render("system")
    for rnd in range(1, rounds + 1):
        doc = files.doc()
        conv = ctx.model.conversation(system)
        try:
            q = await conv.say_json(
                ctx.prompts.render(
                    "cite_query",
                    round=rnd,
                    rounds=rounds,
                    outline=outline(doc),
                    keys=", ".join(files.keys()),
                ),
                CiteQuery,
                stage="cite/query",
            )
        except ExpectedFailure as exc:
            return _gave_up("cite/query", rnd, rounds, exc)
        if q.Done or not q.Query:
            break
        try:
            papers = await search.search(q.Query, limit=10)
        except Exception as exc:
            ctx.log(
                f"citation search unavailable, stopping citations: {getattr(exc, 'reason', exc)}",
                "warning",
            )
            break
        if not papers:
            continue
        try:
            reply = await conv.say(
                ctx.prompts.render(
                    "cite_select",
                    query=q.Query,
                    results=format_for_prompt(papers, with_keys=True),
                    section=q.Section,
                ),
                stage="cite/select",
            )
        except ExpectedFailure as exc:
            return _gave_up("cite/select", rnd, rounds, exc)
        chosen = _selected(reply, len(papers))
        sentence = reply.split("SENTENCE:", 1)[1].strip() if "SENTENCE:" in reply else ""
        sentence = extract_latex(sentence) if "```" in sentence else sentence
        if not chosen or not sentence:
            continue
        add_literature(files.folder, files.bib(), [(papers[i], await search.bibtex(papers[i])) for i in chosen])
        known = set(files.keys())
        used = cited_keys(sentence)
        if used - known:
            ctx.log(f"citation sentence uses unknown keys {sorted(used - known)}; not added", "warning")
            continue
        if not doc.append_to_section(q.Section, sentence):
            doc.append_to_section("Related Work", sentence)
        files.save(doc)
    return None


def _gave_up(stage: str, rnd: int, rounds: int, exc: ExpectedFailure) -> GaveUp:
    return GaveUp(stage=f"{stage} (citation round {rnd} of at most {rounds})", error=one_line(str(exc)))


async def check_references(ctx: RoleContext[Any], files: PaperFiles) -> ReferenceReport:
    """The reference check before a compile (``paper/refcheck.py``): invented entries and keys are replaced by
    real literature records or removed with their cites; the report is saved in references.json, each invented
    key is logged and the counts are published as one log line."""
    from sciswarm.paper.refcheck import verify_references
    from sciswarm.paper.references import FILE, record_template

    if not (files.folder / FILE).exists() and ctx.template is not None:  # a paper folder older than its origins
        record_template(files.folder, files.tex.name, ctx.template / "latex")
    report = await verify_references(files.folder, files.tex.name, files.bib(), ctx.literature)
    for item in report.invented[len(report.invented) - report.new_invented :]:
        if item.action == "replaced":
            what = f"replaced by {item.replaced_by} ({item.engine} {item.record_id}: {item.matched_title!r})"
        else:
            what = f"removed with its citations ({item.reason})"
        ctx.log(f"invented reference `{item.key}` (in {item.found_in}): {what}", "warning")
    ctx.log(report.summary())
    return report


def _selected(reply: str, n: int) -> list[int]:
    m = re.search(r"SELECTED:\s*([^\n]*)", reply)
    if not m:
        return []
    out = []
    for tok in re.findall(r"\d+", m.group(1)):
        i = int(tok) - 1
        if 0 <= i < n and i not in out:
            out.append(i)
    return out
