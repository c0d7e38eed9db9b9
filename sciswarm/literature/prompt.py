"""Search results as compact text for an LLM prompt (token economy: one header line + a short abstract)."""

from __future__ import annotations

from collections.abc import Sequence

from sciswarm.literature.bibtex import cite_key
from sciswarm.literature.models import Paper


def truncate(text: str, max_chars: int) -> str:
    """Collapse whitespace and cut at a word boundary, marking the cut with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= max_chars:
        return text
    cut = text[: max_chars - 1]
    if " " in cut[max_chars // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:.") + "…"


def format_for_prompt(papers: Sequence[Paper], *, abstract_chars: int = 300, with_keys: bool = False) -> str:
    """Numbered list, e.g.::

        1. Denoising Diffusion Probabilistic Models (Ho et al., 2020, NeurIPS; 9000 citations)
           We present high quality image synthesis results using diffusion probabilistic models…

    ``with_keys`` prefixes each entry with its cite key (``[ho2020denoising]``), for the writer.
    """
    if not papers:
        return "No papers found."
    lines = []
    for number, paper in enumerate(papers, 1):
        meta = [part for part in (paper.short_authors(), str(paper.year or ""), paper.venue or "") if part]
        if paper.citation_count is not None:
            meta_text = ", ".join(meta) + ("; " if meta else "") + f"{paper.citation_count} citations"
        else:
            meta_text = ", ".join(meta)
        key = f"[{cite_key(paper)}] " if with_keys else ""
        lines.append(f"{number}. {key}{paper.title}" + (f" ({meta_text})" if meta_text else ""))
        abstract = truncate(paper.abstract, abstract_chars) if paper.abstract else "(no abstract)"
        lines.append(f"   {abstract}")
    return "\n".join(lines)
