"""What the conformance suite reports: one CaseResult per case, its verdict, and the table of them.

Verdicts: "contained"; "ESCAPED" (a failure: an isolated provider, or a property every provider must hold, e.g.
the host-side timeout); "not contained — unsafe provider" (expected of the local provider, which is not a security
boundary); "not run — unsafe provider" (a case that would harm the host there).
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

UNSAFE = "not contained — unsafe provider"
NOT_RUN = "not run — unsafe provider"


@dataclass
class CaseResult:
    name: str
    expected: str
    observed: str
    contained: bool
    required: bool  # must hold for this provider (always for isolated ones)
    ran: bool = True

    @property
    def verdict(self) -> str:
        if self.contained:
            return "contained"
        if not self.ran:
            return NOT_RUN
        return "ESCAPED" if self.required else UNSAFE

    @property
    def failed(self) -> bool:
        return self.verdict == "ESCAPED"


_STYLE = {"contained": "green", "ESCAPED": "bold red", UNSAFE: "yellow", NOT_RUN: "yellow"}


def render_table(provider: str, results: list[CaseResult], console: Console | None = None) -> Table:
    table = Table(title=f"sandbox conformance: {provider}", show_lines=True)
    for col in ("case", "expected", "observed", "verdict"):
        table.add_column(col, overflow="fold")
    for r in results:
        style = _STYLE.get(r.verdict, "")
        table.add_row(r.name, r.expected, r.observed, f"[{style}]{r.verdict}[/]")
    if console is not None:
        console.print(table)
    return table
