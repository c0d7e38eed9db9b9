"""Search-replace edits written by a model, applied to an allowed set of files.

Block format (Aider's; a ``` fence may stand between the file name and the block)::

    experiment.py
    <<<<<<< SEARCH
    old lines
    =======
    new lines
    >>>>>>> REPLACE

A block with no file name on the line before it edits the file of the block before it, as Aider reads it; when
the first block has none, it edits the caller's ``default`` file, else the only allowed file, else it fails
saying why. A block missing its ======= or REPLACE line fails, saying so: no block is dropped unsaid.

A reply's blocks apply together or not at all: ``apply_edits`` returns every block's outcome (``EditResult``) or
raises ``EditError`` naming each block that failed and why, with nothing written. A SEARCH text is matched
exactly, else ignoring trailing whitespace and one uniform difference of leading indentation (the REPLACE text
is then indented by the same difference); such a block's match is ``whitespace``, with what differed.

Whole-file fallback: a fenced block whose first line names the file (``# file: plot.py``)
or a fence preceded by the file name on its own line.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sciswarm.errors import ExpectedFailure

_SEARCH = re.compile(r"<{5,9} SEARCH[ \t]*", re.IGNORECASE)
_DIVIDER = re.compile(r"={5,9}[ \t]*")
_REPLACE = re.compile(r">{5,9} REPLACE[ \t]*", re.IGNORECASE)
_FENCE_LINE = re.compile(r"[ \t]*```[\w+-]*[ \t]*")
_NAME_LINE = re.compile(r"[ \t#>*-]*(?:file(?:name)?:[ \t]*)?[`*]*([\w./-]+\.\w+)[`*]*:?[ \t]*", re.IGNORECASE)
_FENCE = re.compile(r"(?:^|\n)(?:[ \t]*`*([\w./-]+\.\w+)`*:?[ \t]*\n)?```[\w+-]*\n(.*?)\n```", re.DOTALL)
_FILE_HEADER = re.compile(r"^#\s*file:\s*([\w./-]+)\s*\n")


@dataclass
class Edit:
    path: str  # "" when no file name came before this block or any before it
    search: str
    replace: str
    problem: str = ""  # a malformed block: what is missing
    unnamed: bool = False  # no file name on the line before it: the block before's file (or the default)


@dataclass(frozen=True)
class BlockOutcome:
    n: int  # the block's place in the reply, from 1
    path: str
    match: Literal["exact", "whitespace", "none"]  # none: the block failed
    detail: str = ""  # why it failed, or what was tolerated (whitespace, the file taken from the block before)

    @property
    def ok(self) -> bool:
        return self.match != "none"


@dataclass(frozen=True)
class EditResult:
    blocks: tuple[BlockOutcome, ...]

    @property
    def applied(self) -> bool:
        """Every block applied (and there was one)."""
        return bool(self.blocks) and all(b.ok for b in self.blocks)

    @property
    def files(self) -> list[str]:
        return sorted({b.path for b in self.blocks if b.ok})

    def notes(self) -> list[str]:
        """What was tolerated in the blocks that applied (for the log)."""
        return [f"block {b.n} ({b.path}): {b.detail}" for b in self.blocks if b.ok and b.detail]

    def problems(self) -> str:
        """Every failed block and why, and what became of the others (for the model)."""
        failed = [f"block {b.n}: {b.detail}" for b in self.blocks if not b.ok]
        if len(self.blocks) == 1:
            return failed[0]
        good = [str(b.n) for b in self.blocks if b.ok]
        would = f" (block{'s' if len(good) > 1 else ''} {', '.join(good)} would apply)" if good else ""
        return (
            "; ".join(failed) + f"\nNothing was applied: a reply's blocks apply together or not at all{would}. "
            f"Send all {len(self.blocks)} blocks again, corrected, each with its file name on the line before it."
        )


class EditError(ExpectedFailure, ValueError):
    """Edits that could not be applied; the message is meant for the model."""

    def __init__(self, message: str, result: EditResult | None = None) -> None:
        super().__init__(message)
        self.result = result


def _name_before(lines: list[str], at: int, floor: int) -> str:
    """The file name on the nearest non-blank line before line ``at`` (a fence line skipped), else ""."""
    for i in range(at - 1, floor - 1, -1):
        if not lines[i].strip() or _FENCE_LINE.fullmatch(lines[i]):
            continue
        m = _NAME_LINE.fullmatch(lines[i])
        return m.group(1) if m else ""
    return ""


def _until(lines: list[str], start: int, end: re.Pattern[str]) -> int:
    """The index of the first line from ``start`` that matches ``end`` or opens another block (or len(lines))."""
    i = start
    while i < len(lines) and not end.fullmatch(lines[i]) and not _SEARCH.fullmatch(lines[i]):
        i += 1
    return i


def parse_edits(reply: str) -> list[Edit]:
    """Every SEARCH/REPLACE block of the reply in order, malformed ones included (with their problem)."""
    lines = reply.replace("\r\n", "\n").split("\n")
    edits: list[Edit] = []
    path, floor, i = "", 0, 0
    while i < len(lines):
        if _REPLACE.fullmatch(lines[i]):
            edits.append(Edit(path, "", "", "a >>>>>>> REPLACE line with no <<<<<<< SEARCH line before it"))
        if not _SEARCH.fullmatch(lines[i]):
            i += 1
            continue
        named = _name_before(lines, i, floor)
        path = named or path
        divider = _until(lines, i + 1, _DIVIDER)
        search = "\n".join(lines[i + 1 : divider])
        if divider == len(lines) or not _DIVIDER.fullmatch(lines[divider]):
            edits.append(Edit(path, search, "", "it has no ======= line after its SEARCH part", not named))
            i = floor = divider
            continue
        end = _until(lines, divider + 1, _REPLACE)
        replace = "\n".join(lines[divider + 1 : end])
        problem = "" if end < len(lines) and _REPLACE.fullmatch(lines[end]) else "it has no >>>>>>> REPLACE line"
        edits.append(Edit(path, search, replace, problem, not named))
        i = floor = end + 1 if not problem else end
    return edits


def parse_whole_files(reply: str, allowed: set[str]) -> dict[str, str]:
    files: dict[str, str] = {}
    for m in _FENCE.finditer(reply):
        name, body = m.group(1), m.group(2)
        header = _FILE_HEADER.match(body)
        if header:
            name, body = header.group(1), body[header.end() :]
        if name is None and len(allowed) == 1:
            name = next(iter(allowed))
        if name in allowed:
            files[name] = body.rstrip("\n") + "\n"
    return files


def digest(folder: Path, names: set[str]) -> str:
    h = hashlib.sha256()
    for name in sorted(names):
        p = folder / name
        h.update(name.encode() + b"\0" + (p.read_bytes() if p.exists() else b"<missing>"))
    return h.hexdigest()


@dataclass(frozen=True)
class _Span:
    start: int
    end: int
    exact: bool = True
    add: str = ""  # indentation the file has beyond the SEARCH text
    drop: str = ""  # indentation the SEARCH text has beyond the file


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _shift(found: list[str], want: list[str]) -> tuple[str, str] | None:
    """(add, drop) when ``found`` equals ``want`` but for trailing whitespace and one leading indentation
    difference on every non-blank line; None otherwise."""
    shift: tuple[str, str] | None = None
    for f, s in zip(found, want, strict=True):
        f, s = f.rstrip(), s.rstrip()
        if not s or not f:
            if f or s:
                return None
            continue
        fi, si = _indent(f), _indent(s)
        if f[len(fi) :] != s[len(si) :]:
            return None
        if fi.endswith(si):
            this = (fi[: len(fi) - len(si)], "")
        elif si.endswith(fi):
            this = ("", si[: len(si) - len(fi)])
        else:
            return None
        if shift is not None and this != shift:
            return None
        shift = this
    return shift


def _locate(text: str, search: str) -> _Span | None:
    idx = text.find(search)
    if idx >= 0:
        return _Span(idx, idx + len(search))
    lines, want = text.split("\n"), search.split("\n")
    for i in range(len(lines) - len(want) + 1):
        shift = _shift(lines[i : i + len(want)], want)
        if shift is not None:
            start = sum(len(x) + 1 for x in lines[:i])
            return _Span(start, start + len("\n".join(lines[i : i + len(want)])), False, *shift)
    return None


def _reindent(replace: str, span: _Span) -> str:
    out = []
    for line in replace.split("\n"):
        if line.strip():
            line = span.add + line[min(len(span.drop), len(_indent(line))) :]
        out.append(line)
    return "\n".join(out)


def _width(indent: str) -> str:
    if indent == " " * len(indent):
        return f"{len(indent)} space{'s' if len(indent) > 1 else ''}"
    return repr(indent)


def _tolerated(span: _Span) -> str:
    if span.add:
        return f"matched ignoring whitespace: the file is indented {_width(span.add)} more than the SEARCH text"
    if span.drop:
        return f"matched ignoring whitespace: the SEARCH text is indented {_width(span.drop)} more than the file"
    return "matched ignoring trailing whitespace"


def _first_file(allowed: set[str], default: str | None) -> str:
    if default in allowed:
        return str(default)
    return next(iter(allowed)) if len(allowed) == 1 else ""


def apply_edits(folder: Path, edits: list[Edit], allowed: set[str], *, default: str | None = None) -> EditResult:
    """Apply all edits or none. ``default``: the file of a first block with no file name (else the only allowed
    file). Returns every block's outcome; raises EditError with each failed block and why."""
    if not edits:
        raise EditError("no SEARCH/REPLACE blocks were found in your reply")
    first = _first_file(allowed, default)
    contents: dict[str, str] = {}
    blocks: list[BlockOutcome] = []
    for n, e in enumerate(edits, 1):
        path = e.path or first
        if e.problem:
            blocks.append(BlockOutcome(n, path, "none", e.problem))
            continue
        if not path:
            why = f"it has no file name on the line before it (write one of {', '.join(sorted(allowed))} there)"
            blocks.append(BlockOutcome(n, path, "none", why))
            continue
        if path not in allowed:
            blocks.append(
                BlockOutcome(n, path, "none", f"you may only edit {', '.join(sorted(allowed))}, not '{path}'")
            )
            continue
        if path not in contents:
            p = folder / path
            contents[path] = p.read_text() if p.exists() else ""
        if not e.search.strip():
            blocks.append(BlockOutcome(n, path, "none", "its SEARCH part is empty: SEARCH for the lines to change"))
            continue
        span = _locate(contents[path], e.search)
        if span is None:
            start = e.search.strip().splitlines()[0][:80]
            why = f"the SEARCH text was not found in {path}, exactly or ignoring whitespace (starts: {start!r})"
            blocks.append(BlockOutcome(n, path, "none", why))
            continue
        text = contents[path]
        new = e.replace if span.exact else _reindent(e.replace, span)
        contents[path] = text[: span.start] + new + text[span.end :]
        said = [] if span.exact else [_tolerated(span)]
        if e.unnamed:
            said.append(
                f"no file name before it: edits {path}, the {'file of the block before' if e.path else 'default'}"
            )
        blocks.append(BlockOutcome(n, path, "exact" if span.exact else "whitespace", "; ".join(said)))
    result = EditResult(tuple(blocks))
    if not result.applied:
        raise EditError(result.problems(), result)
    for name in result.files:
        (folder / name).write_text(contents[name])
    return result


def write_whole_files(folder: Path, files: dict[str, str]) -> list[str]:
    if not files:
        raise EditError("no complete file in a ``` fenced block was found in your reply")
    for name, text in files.items():
        (folder / name).write_text(text)
    return sorted(files)
