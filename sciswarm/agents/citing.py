"""The writer's citation rounds: the model asks for a search, picks papers from the results and writes the
sentence that cites them; the BibTeX comes from the literature search, never from the model. A sentence citing
a key the bibliography lacks is not added; a literature outage ends the rounds at once."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

from sciswarm.agents.base import RoleContext
from sciswarm.agents.paper_files import PaperFiles
from sciswarm.agents.paper_parts import extract_latex, outline
from sciswarm.paper.checks import cited_keys


class CiteQuery(BaseModel):
    Done: bool = False
    Query: str | None = None
    Section: str = "Related Work"
    Why: str = ""


async def citation_rounds(ctx: RoleContext[Any], files: PaperFiles, rounds: int) -> None:
    search = ctx.literature
    if search is None:
        return
    from sciswarm.literature import format_for_prompt
    from sciswarm.paper import merge_bibtex

    system = ctx.prompts.render("system")
    for rnd in range(1, rounds + 1):
        doc = files.doc()
        conv = ctx.model.conversation(system)
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
        reply = await conv.say(
            ctx.prompts.render(
                "cite_select",
                query=q.Query,
                results=format_for_prompt(papers, with_keys=True),
                section=q.Section,
            ),
            stage="cite/select",
        )
        chosen = _selected(reply, len(papers))
        sentence = reply.split("SENTENCE:", 1)[1].strip() if "SENTENCE:" in reply else ""
        sentence = extract_latex(sentence) if "```" in sentence else sentence
        if not chosen or not sentence:
            continue
        entries = [await search.bibtex(papers[i]) for i in chosen]
        merge_bibtex(files.bib(), entries)
        known = set(files.keys())
        used = cited_keys(sentence)
        if used - known:
            ctx.log(f"citation sentence uses unknown keys {sorted(used - known)}; not added", "warning")
            continue
        if not doc.append_to_section(q.Section, sentence):
            doc.append_to_section("Related Work", sentence)
        files.save(doc)


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
