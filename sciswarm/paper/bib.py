"""references.bib upkeep: list its keys, merge new entries in without duplicate keys, remove entries.

BibTeX compares keys case-insensitively when it looks for repeats, so do we. Entries are split with a
regex for the head (``@type{key,``) and brace counting for the body, so nested braces and ``@`` inside
field values are fine.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

_HEAD = re.compile(r"@\s*([A-Za-z]+)\s*([{(])")
_KEY = re.compile(r"\s*([^\s,={}()\"#%'~\\]+)\s*,")
_KEYLESS = {"string", "preamble", "comment"}


@dataclass(frozen=True)
class BibEntry:
    kind: str  # lower-case entry type: "article", "inproceedings", "string", ...
    key: str  # "" for @string/@preamble/@comment
    text: str


@dataclass
class MergeResult:
    added: list[str] = field(default_factory=list)  # keys written to the file
    skipped: list[str] = field(default_factory=list)  # keys already there (or repeated in the input)
    rejected: list[str] = field(default_factory=list)  # unparseable chunks (first 60 chars)


def _body_end(text: str, start: int, opener: str) -> int | None:
    """Index just past the entry whose delimiter ``opener`` is at ``start``; None if unterminated."""
    braces, parens = 0, 0
    for i in range(start, len(text)):
        ch = text[i]
        if ch == "{":
            braces += 1
        elif ch == "}":
            braces -= 1
        elif opener == "(" and braces == 0 and ch == "(":
            parens += 1
        elif opener == "(" and braces == 0 and ch == ")":
            parens -= 1
        if (opener == "{" and braces == 0) or (opener == "(" and parens == 0 and braces == 0):
            return i + 1
        if braces < 0:
            return None
    return None


def parse_entries(text: str) -> tuple[list[BibEntry], list[str]]:
    """All entries in ``text``, and the chunks that looked like entries but could not be parsed."""
    entries: list[BibEntry] = []
    bad: list[str] = []
    pos = 0
    while (m := _HEAD.search(text, pos)) is not None:
        kind = m.group(1).lower()
        end = _body_end(text, m.start(2), m.group(2))
        if end is None:
            bad.append(text[m.start() : m.start() + 60])
            pos = m.end()
            continue
        key = ""
        if kind not in _KEYLESS:
            km = _KEY.match(text, m.end())
            if km is None:
                bad.append(text[m.start() : m.start() + 60])
                pos = end
                continue
            key = km.group(1)
        entries.append(BibEntry(kind, key, text[m.start() : end]))
        pos = end
    return entries, bad


def bib_keys(text: str) -> list[str]:
    """Cite keys defined in BibTeX ``text``, in order."""
    return [e.key for e in parse_entries(text)[0] if e.key]


def list_keys(bib_path: Path) -> list[str]:
    """Cite keys defined in a .bib file ([] if it does not exist)."""
    path = Path(bib_path)
    return bib_keys(path.read_text(encoding="utf-8", errors="replace")) if path.is_file() else []


def merge_bibtex(bib_path: Path, new: str | Iterable[str]) -> MergeResult:
    """Append the entries of ``new`` whose keys are not in ``bib_path`` yet (the file is created if
    missing, rewritten atomically). ``@comment`` is dropped; ``@string``/``@preamble`` are added unless
    the identical text is already there."""
    path = Path(bib_path)
    old = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
    existing, _ = parse_entries(old)
    seen = {e.key.casefold() for e in existing if e.key}
    seen_text = {e.text.strip() for e in existing if not e.key}
    chunks = [new] if isinstance(new, str) else list(new)
    result = MergeResult()
    additions: list[str] = []
    for chunk in chunks:
        entries, bad = parse_entries(chunk)
        result.rejected += bad
        for entry in entries:
            if entry.kind == "comment":
                continue
            if not entry.key:
                if entry.text.strip() not in seen_text:
                    seen_text.add(entry.text.strip())
                    additions.append(entry.text.strip())
                continue
            if entry.key.casefold() in seen:
                result.skipped.append(entry.key)
                continue
            seen.add(entry.key.casefold())
            additions.append(entry.text.strip())
            result.added.append(entry.key)
    if additions:
        body = old.rstrip()
        text = (body + "\n\n" if body else "") + "\n\n".join(additions) + "\n"
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    return result


def remove_entries(bib_path: Path, keys: Iterable[str]) -> list[str]:
    """Delete the entries with exactly these keys from ``bib_path`` (an entry repeating one of them in another
    case is another entry, kept), leaving the rest of the file as it was (rewritten atomically). Returns the
    keys removed."""
    path = Path(bib_path)
    if not path.is_file():
        return []
    drop = set(keys)
    text = path.read_text(encoding="utf-8", errors="replace")
    out: list[str] = []
    removed: list[str] = []
    pos = 0
    for entry in parse_entries(text)[0]:
        start = text.find(entry.text, pos)
        if start < 0:  # cannot happen: entries are slices of text, in order
            continue
        if entry.key and entry.key in drop:
            out.append(text[pos:start].rstrip(" \t"))
            removed.append(entry.key)
            end = start + len(entry.text)
            pos = end + 1 if text[end : end + 1] == "\n" else end
        else:
            out.append(text[pos : start + len(entry.text)])
            pos = start + len(entry.text)
    if removed:
        out.append(text[pos:])
        body = re.sub(r"\n{3,}", "\n\n", "".join(out)).strip()
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(body + "\n" if body else "", encoding="utf-8")
        os.replace(tmp, path)
    return removed


_FILECONTENTS = re.compile(
    r"\\begin\{filecontents\*?\}(?:\[[^\]]*\])?\{([^}]+)\}\n?(.*?)\\end\{filecontents\*?\}", re.DOTALL
)


def filecontents_blocks(tex: str) -> list[re.Match[str]]:
    """The ``filecontents`` blocks of a .tex text: group 1 is the file's name, group 2 its contents."""
    return list(_FILECONTENTS.finditer(tex))


def unpack_filecontents(paper_dir: Path, main: str) -> list[str]:
    """Write the files a template embeds with `filecontents` (AI Scientist templates keep references.bib
    there) beside it, unless present, so entries merged later extend the template's instead of replacing
    them (LaTeX does not overwrite an existing file). Returns the files written."""
    tex = (paper_dir / main).read_text(encoding="utf-8", errors="replace")
    written = []
    for name, body in _FILECONTENTS.findall(tex):
        target = paper_dir / name.strip()
        if target.suffix == "":
            target = target.with_suffix(".tex")
        if target.resolve().parent != paper_dir.resolve() or target.exists():
            continue
        target.write_text(body, encoding="utf-8")
        written.append(target.name)
    return written
