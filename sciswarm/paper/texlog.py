"""Turn pdflatex's .log, bibtex's .blg and the tools' console output into a short list of issues.

The log is produced with ``-file-line-error`` and ``max_print_line=1000`` (no wrapping), so most errors
read ``./file.tex:12: message``; the rest start with ``!`` and get their line from the ``l.<n>`` context
that follows and their file from the log's ``(file ... )`` nesting. Layout problems (overfull boxes, floats
too large for the page) are warnings found by ``layout.py``.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict

from sciswarm.paper.layout import Layout, display_end, float_too_large, is_box_report, overfull_at
from sciswarm.paper.tex_packages import is_package_file, missing_hint

Severity = Literal["error", "warning"]
IssueKind = Literal[
    "latex",
    "missing-file",
    "undefined-citation",
    "undefined-reference",
    "duplicate-label",
    "overfull",
    "float-too-large",
    "bibtex",
    "blocked",
    "timeout",
    "tool",
]


class LatexIssue(BaseModel):
    """One problem found while compiling, addressed to whoever fixes the .tex (often an LLM)."""

    model_config = ConfigDict(frozen=True)

    severity: Severity
    kind: IssueKind
    message: str
    file: str | None = None
    line: int | None = None
    context: str | None = None
    size_pt: float | None = None  # layout problems: how many pt too wide or too tall

    def __str__(self) -> str:
        where = f"{self.file or '?'}:{self.line}: " if self.line else (f"{self.file}: " if self.file else "")
        near = f"  [near: {self.context}]" if self.context else ""
        return f"{self.severity}: {where}{self.message}{near}"


_FILE_LINE = re.compile(r"^(?P<file>\.{0,2}/?[^\s:()][^:()]*?\.[A-Za-z]{1,4}):(?P<line>\d+): (?P<msg>.+)$")
_BANG = re.compile(r"^!\s*(?P<msg>.+)$")
_CONTEXT = re.compile(r"^l\.(?P<line>\d+) ?(?P<text>.*)$")
_OPEN_FILE = re.compile(r"\(([^\s()]+\.[A-Za-z]{1,4})")
_CITATION = re.compile(r"Citation [`'](?P<key>[^']+)' (?:on page \S+ )?undefined(?: on input line (?P<line>\d+))?")
_REFERENCE = re.compile(r"Reference [`'](?P<key>[^']+)' on page \S+ undefined(?: on input line (?P<line>\d+))?")
_LABEL = re.compile(r"Label [`'](?P<key>[^']+)' multiply defined")
_NOT_FOUND = re.compile(r"File [`'](?P<name>[^']+)' not found")
_UNDEFINED_REF = "Reference `{}' is undefined: no \\label has this key; refer only to labels the paper defines"
_NOISE = ("Emergency stop", "==> Fatal error occurred", "Fatal error occurred")
_BLOCKED = re.compile(r"Not (?P<verb>reading from|writing to) (?P<path>.+?) \((?P<var>open(?:in|out)_any) = p\)")
_DENIED = re.compile(r"(?:pdf\w*|bibtex\w*|latex|tex): (?P<path>/[^:\n]+?): Permission denied")
_BLG_AT = re.compile(r"^(?P<msg>.*?)---line (?P<line>\d+) of file (?P<file>\S+)")
_BLG_MISSING = re.compile(r'^Warning--I didn\'t find a database entry for "(?P<key>[^"]+)"')
_BLG_FATAL = re.compile(r"^(I couldn't open .*|I found no .*|.*---this can't happen.*)$")
_BST_MISSING = re.compile(r"I couldn't open style file (?P<name>\S+\.bst)")


def _file_at(stack: list[str | None]) -> str | None:
    for entry in reversed(stack):
        if entry is not None:
            return entry
    return None


def _track(stack: list[str | None], line: str) -> None:
    """Follow the log's ``(./file.tex ... )`` nesting through one line."""
    i = 0
    while i < len(line):
        ch = line[i]
        if ch == "(":
            m = _OPEN_FILE.match(line, i)
            stack.append(m.group(1) if m else None)
            i = m.end() if m else i + 1
            continue
        if ch == ")" and stack:
            stack.pop()
        i += 1


def _clean_file(name: str | None) -> str | None:
    return name[2:] if name and name.startswith("./") else name


def _context_after(lines: list[str], start: int) -> tuple[int | None, str | None]:
    for j in range(start + 1, min(start + 20, len(lines))):
        m = _CONTEXT.match(lines[j])
        if m:
            text = m.group("text").strip()
            if text.startswith("..."):
                text = text[3:]
            return int(m.group("line")), text[-80:] or None
        if j > start + 1 and (lines[j].startswith("!") or _FILE_LINE.match(lines[j])):
            break
    return None, None


def _error(msg: str, file: str | None, line: int | None, context: str | None) -> LatexIssue:
    nf = _NOT_FOUND.search(msg)
    kind: IssueKind = "missing-file" if nf else "latex"
    text = msg.strip()
    if nf and is_package_file(nf.group("name")):
        text = f"{text} ({missing_hint(nf.group('name'))})"  # not the paper's fault: say what to install
    return LatexIssue(severity="error", kind=kind, message=text, file=file, line=line, context=context)


def missing_packages(issues: list[LatexIssue]) -> list[str]:
    """The packages, classes and styles (``x.sty``) a failed compile could not find on this host."""
    names: dict[str, None] = {}
    for issue in issues:
        nf = _NOT_FOUND.search(issue.message) if issue.kind == "missing-file" else None
        if nf and is_package_file(nf.group("name")):
            names[nf.group("name")] = None
        bst = _BST_MISSING.search(issue.message) if issue.kind == "bibtex" else None
        if bst:
            names[bst.group("name")] = None
    return list(names)


def _layout(found: Layout, file: str | None) -> LatexIssue:
    return LatexIssue(
        severity="warning",
        kind=found.kind,
        message=found.message,
        file=file,
        line=found.line,
        context=found.context,
        size_pt=found.size_pt,
    )


def parse_log(text: str) -> list[LatexIssue]:
    """Errors and the warnings worth fixing (undefined citations/references, duplicate labels, overfull
    boxes, floats too large for the page)."""
    issues: list[LatexIssue] = []
    lines = text.splitlines()
    stack: list[str | None] = []
    skip_to = 0
    for i, raw in enumerate(lines):
        if i < skip_to:
            continue  # a box display: TeX's picture of a box's contents, not file nesting
        if is_box_report(raw):
            found = overfull_at(lines, i)
            if found is not None:
                issues.append(_layout(found, _clean_file(_file_at(stack))))
            skip_to = display_end(lines, i)
            continue
        fl = _FILE_LINE.match(raw)
        bang = None if fl else _BANG.match(raw)
        if fl or bang:
            msg = (fl or bang).group("msg")  # type: ignore[union-attr]
            ctx_line, ctx = _context_after(lines, i)
            file = _clean_file(fl.group("file") if fl else _file_at(stack))
            line = int(fl.group("line")) if fl else ctx_line
            if any(msg.strip().startswith(n) for n in _NOISE):
                # halt-on-error's follow-up: give its position to an earlier error lacking one
                if issues and issues[-1].severity == "error" and issues[-1].line is None:
                    issues[-1] = issues[-1].model_copy(update={"file": file, "line": line, "context": ctx})
                elif not any(x.severity == "error" for x in issues):
                    issues.append(_error(msg, file, line, ctx))
                continue
            issues.append(_error(msg, file, line, ctx))
            continue
        _track(stack, raw)
        if "Warning" not in raw:
            continue
        file = _clean_file(_file_at(stack))
        if file and not file.endswith(".tex"):
            file = None  # end-of-run warnings are issued while the .aux is read back
        for rx, kind, what in (
            (_CITATION, "undefined-citation", "Citation `{}' is undefined"),
            (_REFERENCE, "undefined-reference", _UNDEFINED_REF),
        ):
            m = rx.search(raw)
            if m:
                line = int(m.group("line")) if m.group("line") else None
                issues.append(
                    LatexIssue(
                        severity="warning",
                        kind=kind,
                        message=what.format(m.group("key")),
                        file=file,
                        line=line,
                    )
                )
        too_tall = float_too_large(raw)
        if too_tall is not None:
            issues.append(_layout(too_tall, file))
        m = _LABEL.search(raw)
        if m:
            issues.append(
                LatexIssue(
                    severity="warning",
                    kind="duplicate-label",
                    message=f"Label `{m.group('key')}' is defined more than once",
                    file=file,
                )
            )
    return issues


def parse_blg(text: str) -> list[LatexIssue]:
    """BibTeX's errors (bad .bib syntax, missing database/style, repeated keys) and missing entries."""
    issues: list[LatexIssue] = []
    lines = text.splitlines()
    for i, raw in enumerate(lines):
        m = _BLG_MISSING.match(raw)
        if m:
            key = m.group("key")
            issues.append(
                LatexIssue(
                    severity="warning",
                    kind="undefined-citation",
                    message=f"Citation `{key}' is undefined",
                    context="no entry with this key in the .bib file",
                )
            )
            continue
        m = _BLG_AT.match(raw)
        if m and not m.group("msg").strip() and issues and issues[-1].line is None:
            # "I couldn't open database file x.bib" then "---line 3 of file t.aux" on its own line
            issues[-1] = issues[-1].model_copy(update={"file": m.group("file"), "line": int(m.group("line"))})
            continue
        if m:
            msg = m.group("msg").strip() or "BibTeX error"
            bst = _BST_MISSING.search(msg)
            issues.append(
                LatexIssue(
                    severity="error",
                    kind="bibtex",
                    message=f"{msg} ({missing_hint(bst.group('name'))})" if bst else msg,
                    file=m.group("file"),
                    line=int(m.group("line")),
                    context=" ".join(x[3:].strip() for x in lines[i + 1 : i + 3] if x.startswith(" : ")) or None,
                )
            )
            continue
        if _BLG_FATAL.match(raw):
            bst = _BST_MISSING.search(raw)
            msg = f"{raw.strip()} ({missing_hint(bst.group('name'))})" if bst else raw.strip()
            issues.append(LatexIssue(severity="error", kind="bibtex", message=msg))
    return issues


def parse_console(text: str) -> list[LatexIssue]:
    """Reads and writes refused by the confinement, as reported on the tools' stdout/stderr."""
    issues: list[LatexIssue] = []
    for raw in text.splitlines():
        m = _BLOCKED.search(raw)
        path = m.group("path") if m else None
        verb = m.group("verb").split()[0] if m else "reading"
        if m is None:
            d = _DENIED.search(raw)
            path = d.group("path") if d else None
        if path:
            issues.append(
                LatexIssue(
                    severity="error",
                    kind="blocked",
                    message=f"{verb} `{path}' is not allowed: use only files inside the paper folder, by relative path",
                )
            )
    return issues


def dedupe(issues: list[LatexIssue]) -> list[LatexIssue]:
    """Drop repeats (same kind, file and message), errors first, original order otherwise."""
    seen: set[tuple[str, str | None, str]] = set()
    out: list[LatexIssue] = []
    for issue in issues:
        key = (issue.kind, issue.file if issue.kind != "undefined-citation" else None, issue.message)
        if key not in seen:
            seen.add(key)
            out.append(issue)
    return sorted(out, key=lambda x: x.severity != "error")


def output_pages(text: str) -> int | None:
    """Page count from ``Output written on x.pdf (3 pages, 1234 bytes).``"""
    m = re.search(r"Output written on .+? \((\d+) pages?", text)
    return int(m.group(1)) if m else None
