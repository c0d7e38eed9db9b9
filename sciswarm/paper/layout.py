"""Layout problems in a pdflatex log: boxes wider than the text and floats taller than the page.

The compile succeeds with them, but the PDF shows a table running into the margin or a figure off the page.
``texlog.parse_log`` asks ``overfull_at`` about every ``Overfull``/``Underfull`` line (and skips the box
display TeX prints after it: its text holds parentheses that are no file nesting) and ``float_too_large``
about every warning. The messages are written for the model that fixes the LaTeX. Overfull boxes under
``MIN_PT`` are never reported; the writer has its own, larger, tolerance.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

MIN_PT = 1.0
MAX_DISPLAY_LINES = 40

_BOX = re.compile(r"^(?:Over|Under)full \\[hv]box \(")
_OVERFULL = re.compile(
    r"^Overfull \\hbox \((?P<pt>\d+(?:\.\d+)?)pt too wide\) "
    r"(?:in (?P<where>paragraph|alignment) at lines (?P<a>\d+)--(?P<b>\d+)|detected at line (?P<at>\d+))"
)
_FLOAT = re.compile(r"Float too large for page by (?P<pt>\d+(?:\.\d+)?)pt on input line (?P<line>\d+)")
_FONT = re.compile(r"\\[A-Z0-9]+/[^/\s]+/[^/\s]+/[^/\s]+/[\d.]+(?: \([+-]?\d+\))? ?")  # \OT1/cmr/m/n/10 (-20)

_TABLE_FIX = (
    "wrap the tabular in \\resizebox{\\linewidth}{!}{...}, or use fewer or narrower columns, shorter headers or \\small"
)


@dataclass(frozen=True)
class Layout:
    """One layout problem: its kind, the words for the model, the source line and how many pt too big."""

    kind: Literal["overfull", "float-too-large"]
    message: str
    line: int
    size_pt: float
    context: str | None = None


def is_box_report(line: str) -> bool:
    return _BOX.match(line) is not None


def display_end(lines: list[str], start: int) -> int:
    """The index after the box display that follows the report at ``start`` (it ends with an empty line)."""
    for j in range(start + 1, min(start + 1 + MAX_DISPLAY_LINES, len(lines))):
        if not lines[j].strip():
            return j + 1
    return start + 1


def _box_text(lines: list[str]) -> str | None:
    """The words of the displayed box, without font names and ``[]`` (a box TeX does not show)."""
    text = " ".join(_FONT.sub("", x).replace("[]", " ") for x in lines)
    text = " ".join(text.split())
    return text[:80] if sum(c.isalpha() for c in text) >= 3 else None


def overfull_at(lines: list[str], i: int) -> Layout | None:
    """The overfull \\hbox reported on ``lines[i]``, if it is at least ``MIN_PT`` too wide."""
    m = _OVERFULL.match(lines[i])
    if m is None or float(m.group("pt")) < MIN_PT:
        return None
    pt = float(m.group("pt"))
    context = _box_text(lines[i + 1 : display_end(lines, i) - 1])
    if m.group("at"):
        msg = (
            f"an equation is {pt:.0f} pt wider than the text (line {m.group('at')}): break it over several lines "
            "(e.g. with multline or align and \\\\) or shorten it"
        )
        return Layout("overfull", msg, int(m.group("at")), pt, context)
    a, b = int(m.group("a")), int(m.group("b"))
    if m.group("where") == "alignment":
        msg = f"a table (or aligned equation) is {pt:.0f} pt wider than the text (lines {a}--{b}): {_TABLE_FIX}"
    elif context is None:  # the box shows no words: a tabular or an image
        msg = (
            f"a table or figure is {pt:.0f} pt wider than the text (lines {a}--{b}): if it is a table, "
            f"{_TABLE_FIX}; if a figure, use \\includegraphics[width=\\linewidth]{{...}}"
        )
    else:
        msg = (
            f"a line of text is {pt:.0f} pt wider than the text (lines {a}--{b}; that line is quoted after near:): "
            "rephrase it, or let the long word, URL or inline formula break (\\url{...}, shorter names, \\allowbreak)"
        )
    return Layout("overfull", msg, a, pt, context)


def float_too_large(warning: str) -> Layout | None:
    """LaTeX's ``Float too large for page by ...pt on input line N`` (the line of the float's end)."""
    m = _FLOAT.search(warning)
    if m is None:
        return None
    pt = float(m.group("pt"))
    msg = (
        f"a figure or table is {pt:.0f} pt taller than the page (it ends on line {m.group('line')}): make it smaller "
        "(e.g. \\includegraphics[width=0.7\\linewidth]{...}, fewer rows, \\small) or split it in two"
    )
    return Layout("float-too-large", msg, int(m.group("line")), pt)
