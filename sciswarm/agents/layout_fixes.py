"""What a compile that succeeded still got wrong on the page: boxes wider than the text and floats taller than
the page beyond a tolerance, and references to labels that do not exist. The writer sends each one to the
written part that holds its source line; those elsewhere (``results_table.tex``, which code writes, or the
template's own preamble) are only reported. Pure functions of a compile's issues and the document."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from sciswarm.agents.paper_parts import part_holding, part_named
from sciswarm.paper.sections import TexDocument
from sciswarm.paper.texlog import LatexIssue

LAYOUT_KINDS = frozenset({"overfull", "float-too-large", "undefined-reference"})


@dataclass
class LayoutFixes:
    """A successful compile's layout problems: by the part to fix, and the rest (in no written part)."""

    by_part: dict[str, list[str]] = field(default_factory=dict)
    elsewhere: list[LatexIssue] = field(default_factory=list)

    def fixing(self) -> str:
        count = sum(len(v) for v in self.by_part.values())
        listed = "\n".join(f"- {p}: {x}" for p, xs in self.by_part.items() for x in xs)
        return f"the PDF has {count} layout problem(s); fixing {', '.join(self.by_part)}:\n{listed}"

    def remaining(self, fix_rounds: int, checks: Sequence[str] = ()) -> list[str]:
        """The transcript's warnings for what the final PDF still has: layout problems no fix round was left
        for, those in no written part, and the static checks' problems (e.g. a figure never referenced)."""
        notes: list[str] = []
        if self.by_part:
            listed = "\n".join(f"- {p}: {x}" for p, xs in self.by_part.items() for x in xs)
            notes.append(f"layout problems remain after {fix_rounds} fix round(s); keeping the PDF as it is:\n{listed}")
        if self.elsewhere:
            listed = "\n".join(f"- {i}" for i in self.elsewhere)
            notes.append(f"layout problems outside the written parts (not sent to the model):\n{listed}")
        if checks:
            notes.append("paper check problems left in the final PDF:\n" + "\n".join(f"- {p}" for p in checks))
        return notes


def check_line(problem: str, main: str) -> int | None:
    """The main-file line a static check's problem starts with (``template.tex:12: ...``), if any."""
    m = re.match(rf"{re.escape(main)}:(\d+): ", problem)
    return int(m.group(1)) if m else None


def is_layout(issue: LatexIssue, tolerance_pt: float) -> bool:
    """A layout problem worth fixing: a reference to no label, or a box or float more than the tolerance too big."""
    if issue.kind not in LAYOUT_KINDS:
        return False
    return issue.size_pt is None or issue.size_pt > tolerance_pt


def layout_part(doc: TexDocument, issue: LatexIssue, main: str) -> str | None:
    """The written part that holds the issue's source line; None outside the main file or in its preamble."""
    if issue.file != main:
        return None
    if issue.line is None:
        return part_holding(doc, str(issue))
    where = doc.part_at_line(issue.line)
    return part_named(where) if where is not None else None


def layout_fixes(doc: TexDocument, issues: list[LatexIssue], main: str, tolerance_pt: float) -> LayoutFixes:
    found = LayoutFixes()
    for issue in issues:
        if not is_layout(issue, tolerance_pt):
            continue
        part = layout_part(doc, issue, main)
        if part is None:
            found.elsewhere.append(issue)
        else:
            found.by_part.setdefault(part, []).append(str(issue))
    return found
