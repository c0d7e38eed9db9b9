"""Edits of a paper's LaTeX for the reference check: the keys its cite commands use, renaming and removing keys,
and taking out the bibliography entries the model wrote itself (``filecontents`` blocks, ``\\bibitem``s)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal

from sciswarm.literature.bibtex import parse_bibtex
from sciswarm.paper.bib import filecontents_blocks, parse_entries
from sciswarm.paper.checks import strip_tex
from sciswarm.paper.references import BIBITEM, block_hash
from sciswarm.paper.refmatch import Claim, normalize_title

# any cite command (\cite, \citep, \citet*, \parencite, \nocite, \Citeauthor ...) with up to two optional
# arguments; `pre` is the space or tie before it, dropped with the command when no key is left
_CITE = re.compile(
    r"(?P<pre>[ \t]*~?)(?P<cmd>\\[A-Za-z]*[Cc]ite[A-Za-z]*\*?)(?P<opts>(?:\s*\[[^\]]*\]){0,2})\s*\{(?P<keys>[^{}]*)\}"
)
_ITEM_END = re.compile(r"\\bibitem\b|\\end\s*\{thebibliography\}")
_EMPTY_THEBIB = re.compile(r"\\begin\{thebibliography\}\{[^{}]*\}\s*\\end\{thebibliography\}[ \t]*\n?")
_YEAR = re.compile(r"\b(19\d\d|20\d\d)\b")


# ---- cite commands ------------------------------------------------------------------------------------------
def cited_in(tex: str) -> list[str]:
    """Keys cited outside comments and verbatim, in order of first use (``*`` of ``\\nocite{*}`` left out)."""
    out: list[str] = []
    for m in _CITE.finditer(strip_tex(tex)):
        for key in (k.strip() for k in m.group("keys").split(",")):
            if key and key != "*" and key not in out:
                out.append(key)
    return out


def edit_cites(tex: str, rename: Mapping[str, str], remove: set[str]) -> str:
    """Rewrite cite commands: keys in ``rename`` become their target (repeats merged), keys in ``remove`` go;
    a command left without keys is removed with the space or tie before it (``see~\\cite{x}.`` -> ``see.``,
    ``(\\citep{x})`` -> nothing)."""
    out: list[str] = []
    pos = 0
    for m in _CITE.finditer(tex):
        keys = [k.strip() for k in m.group("keys").split(",") if k.strip()]
        new: list[str] = []
        for key in keys:
            if key in remove:
                continue
            key = rename.get(key, key)
            if key not in new:
                new.append(key)
        if new == keys:
            continue
        out.append(tex[pos : m.start()])
        end = m.end()
        if new:
            out.append(f"{m.group('pre')}{m.group('cmd')}{m.group('opts')}{{{','.join(new)}}}")
        else:
            start = m.start() + len(m.group("pre"))
            if not m.group("pre"):
                if start > 0 and tex[start - 1] == "(" and tex[end : end + 1] == ")":
                    out[-1] = out[-1][:-1].rstrip(" \t~")
                    end += 1
                elif start == 0 or tex[start - 1] == "\n":
                    end += len(tex[end:]) - len(tex[end:].lstrip(" \t"))
        pos = end
    out.append(tex[pos:])
    return "".join(out)


# ---- what the model wrote -------------------------------------------------------------------------------------
def claims_in_bibtex(text: str, found_in: Literal["bib", "filecontents"]) -> list[Claim]:
    claims = []
    for entry in parse_entries(text)[0]:
        if not entry.key:
            continue
        try:
            fields = parse_bibtex(entry.text)[2]
        except ValueError:
            fields = {}
        year = _YEAR.search(fields.get("year", ""))
        claims.append(Claim(entry.key, found_in, fields.get("title", ""), int(year.group(1)) if year else None))
    return claims


def take_filecontents(tex: str, template_blocks: set[str]) -> tuple[str, list[Claim]]:
    """Remove the ``filecontents`` blocks that were not the template's; the entries they held."""
    claims: list[Claim] = []
    for m in reversed(filecontents_blocks(tex)):
        if block_hash(m.group(0)) in template_blocks:
            continue
        claims[:0] = claims_in_bibtex(m.group(2), "filecontents")
        end = m.end() + (1 if tex[m.end() : m.end() + 1] == "\n" else 0)
        tex = tex[: m.start()] + tex[end:]
    return tex, claims


def _bibitem_title(body: str) -> str:
    quoted = re.search(r"``(.+?)''|\\emph\{([^{}]+)\}|\\textit\{([^{}]+)\}|\"(.+?)\"", body, re.DOTALL)
    if quoted:
        return next(g for g in quoted.groups() if g)
    parts = [p.strip() for p in re.split(r"\.\s+", re.sub(r"\\newblock\b", "", body))]
    return max(parts, key=len, default="")


def take_bibitems(tex: str, keep: set[str]) -> tuple[str, list[Claim]]:
    """Remove the ``\\bibitem``s whose keys are not in ``keep`` (a ``thebibliography`` left empty goes too);
    what they said."""
    claims: list[Claim] = []
    for m in reversed(list(BIBITEM.finditer(tex))):
        key = m.group(1).strip()
        if key in keep:
            continue
        stop = _ITEM_END.search(tex, m.end())
        end = stop.start() if stop else len(tex)
        body = tex[m.end() : end].strip()
        year = _YEAR.search(body)
        claims.insert(
            0, Claim(key, "bibitem", _bibitem_title(body), int(year.group(1)) if year else None, normalize_title(body))
        )
        tex = tex[: m.start()] + tex[end:]
    return _EMPTY_THEBIB.sub("", tex), claims
