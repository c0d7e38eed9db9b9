"""The parts of a paper the writer fills (title and abstract, then sections), on a TexDocument: reading and
writing one part, an outline of all, which part a compiler or check problem is in, and reverting a part.
Pure functions of the document text, testable without a model."""

from __future__ import annotations

import re

from sciswarm.paper.checks import cited_keys
from sciswarm.paper.sections import TexDocument, part_key

PARTS = [
    "Title and Abstract",
    "Introduction",
    "Background",
    "Method",
    "Experimental Setup",
    "Results",
    "Conclusion",
    "Related Work",
]
ABSTRACT = "Title and Abstract"
_FENCE = re.compile(r"```(?:latex|tex)?\s*\n(.*?)```", re.DOTALL)
_OPEN_FENCE = re.compile(r"```(?:latex|tex)?\s*\n(.*)\Z", re.DOTALL)  # a reply cut off before its closing fence
_QUOTED = re.compile(r"[`']([^`'\n]+)'")  # what a check or the compiler quotes: `path', 'key'
_NEAR = re.compile(r"\[near: (.+)\]$")  # LatexIssue's source context


def extract_latex(reply: str) -> str:
    """The LaTeX in a model's reply: its fenced block (one the reply's token limit cut off before it closed: what
    follows the opening; else all of it), without a leading \\section line."""
    m = _FENCE.search(reply) or _OPEN_FENCE.search(reply)
    body = m.group(1) if m else reply
    body = re.sub(r"^\s*\\section\*?\{[^}]*\}\s*(\\label\{[^}]*\})?\s*\n", "", body)
    return body.strip()


def text_of(doc: TexDocument, part: str) -> str:
    """The LaTeX body of one part (the abstract for "Title and Abstract")."""
    return doc.get_abstract() if part == ABSTRACT else doc.get_section(part)


def for_prompt(doc: TexDocument, part: str) -> str:
    """A part as a model should see it to rewrite it (with the title for the abstract)."""
    if part == ABSTRACT:
        return f"TITLE: {doc.get_title()}\n```latex\n{doc.get_abstract()}\n```"
    return doc.get_section(part)


def put(doc: TexDocument, part: str, reply: str) -> int:
    """Write a model's reply into its part (a "TITLE:" line sets the title); returns the body's length."""
    if part == ABSTRACT:
        m = re.search(r"TITLE:\s*(.+)", reply)
        if m:
            doc.set_title(m.group(1).strip())
        body = extract_latex(reply[m.end() :] if m and "```" not in reply else reply)  # the text after the title
        doc.set_abstract(body)
        return len(body)
    body = extract_latex(reply)
    doc.set_section(part, body)
    return len(body)


def restore(doc: TexDocument, part: str, source: TexDocument) -> None:
    """Put ``part`` back to its text in ``source`` (e.g. the last version that compiled)."""
    if part == ABSTRACT:
        doc.set_abstract(source.get_abstract())
    else:
        doc.set_section(part, source.get_section(part))


def outline(doc: TexDocument, skip: str = "") -> str:
    """One line per part: its opening words and the keys it cites."""
    lines = []
    for part in PARTS:
        if part == skip:
            continue
        text = text_of(doc, part)
        first = " ".join(text.split())[:160]
        cites = sorted(cited_keys(text))
        lines.append(f"- {part}: {first or '(empty)'}" + (f" [cites: {', '.join(cites)}]" if cites else ""))
    return "\n".join(lines)


def part_named(where: str) -> str:
    """The writer part for a name the document reports (a section header, or "Abstract")."""
    if where == "Abstract":
        return ABSTRACT  # not a new \\section{Abstract}
    return next((p for p in PARTS if part_key(p) == part_key(where)), where)


def part_holding(doc: TexDocument, problem: str, line: int | None = None) -> str | None:
    """The written part a problem is in: by its line in the main file, else by the text it quotes (a path the
    compiler refused, a cite key, a figure name, the source near the error). None: in no written part."""
    if line is not None:
        where = doc.part_at_line(line)
        if where is not None:
            return part_named(where)
    quoted = [t for t in _QUOTED.findall(problem) if len(t.strip()) >= 3]
    near = _NEAR.search(problem)
    if near:
        quoted.append(near.group(1).strip())
    for part in PARTS:
        if any(t in text_of(doc, part) for t in quoted) or (part in problem):
            return part
    return None


def parts_for(doc: TexDocument, problems: list[tuple[str, int | None]]) -> dict[str, list[str]]:
    """Problems grouped by the part that holds them; problems in no written part are left out."""
    found: dict[str, list[str]] = {}
    for problem, line in problems:
        part = part_holding(doc, problem, line)
        if part is not None:
            found.setdefault(part, []).append(problem)
    return found
