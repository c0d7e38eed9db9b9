"""Search-replace edits written by a model, applied to an allowed set of files.

Block format (the file name on the line before the block)::

    experiment.py
    <<<<<<< SEARCH
    old lines
    =======
    new lines
    >>>>>>> REPLACE

Whole-file fallback: a fenced block whose first line names the file (``# file: plot.py``)
or a fence preceded by the file name on its own line.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from sciswarm.errors import ExpectedFailure

_BLOCK = re.compile(
    r"(?:^|\n)[ \t]*`*([\w./-]+\.\w+)`*[ \t]*\n(?:```\w*\n)?<<<<<<< SEARCH\n(.*?)\n?=======\n(.*?)\n?>>>>>>> REPLACE",
    re.DOTALL,
)
_FENCE = re.compile(r"(?:^|\n)(?:[ \t]*`*([\w./-]+\.\w+)`*:?[ \t]*\n)?```[\w+-]*\n(.*?)\n```", re.DOTALL)
_FILE_HEADER = re.compile(r"^#\s*file:\s*([\w./-]+)\s*\n")


class EditError(ExpectedFailure, ValueError):
    """Edits that could not be applied; the message is meant for the model."""


@dataclass
class Edit:
    path: str
    search: str
    replace: str


def parse_edits(reply: str) -> list[Edit]:
    return [Edit(m.group(1), m.group(2), m.group(3)) for m in _BLOCK.finditer(reply)]


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


def _locate(text: str, search: str) -> tuple[int, int] | None:
    if not search.strip():
        return None
    idx = text.find(search)
    if idx >= 0:
        return idx, idx + len(search)
    # tolerate trailing-whitespace differences line by line
    lines = text.split("\n")
    want = [s.rstrip() for s in search.split("\n")]
    for i in range(len(lines) - len(want) + 1):
        if [line.rstrip() for line in lines[i : i + len(want)]] == want:
            start = sum(len(x) + 1 for x in lines[:i])
            end = start + sum(len(x) + 1 for x in lines[i : i + len(want)]) - 1
            return start, end
    return None


def apply_edits(folder: Path, edits: list[Edit], allowed: set[str]) -> list[str]:
    """Apply all edits or none. Returns the files changed. Raises EditError with what failed."""
    if not edits:
        raise EditError("no SEARCH/REPLACE blocks were found in your reply")
    contents: dict[str, str] = {}
    problems: list[str] = []
    for n, e in enumerate(edits, 1):
        if e.path not in allowed:
            problems.append(f"block {n}: you may only edit {', '.join(sorted(allowed))}, not '{e.path}'")
            continue
        if e.path not in contents:
            p = folder / e.path
            contents[e.path] = p.read_text() if p.exists() else ""
        where = _locate(contents[e.path], e.search)
        if where is None:
            first = e.search.strip().splitlines()[0][:80] if e.search.strip() else "(empty)"
            problems.append(f"block {n}: the SEARCH text was not found exactly in {e.path} (starts: {first!r})")
            continue
        text = contents[e.path]
        contents[e.path] = text[: where[0]] + e.replace + text[where[1] :]
    if problems:
        raise EditError("; ".join(problems))
    for name, text in contents.items():
        (folder / name).write_text(text)
    return sorted(contents)


def write_whole_files(folder: Path, files: dict[str, str]) -> list[str]:
    if not files:
        raise EditError("no complete file in a ``` fenced block was found in your reply")
    for name, text in files.items():
        (folder / name).write_text(text)
    return sorted(files)
