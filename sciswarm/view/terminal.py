"""Live terminal view (rich): who speaks, what, per-idea progress, the experiment slots ("slots 2/4 busy,
3 queued", a line when they change), tokens and cost so far."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.text import Text

from sciswarm.view.follow import parse_line
from sciswarm.view.render import clock, summarize
from sciswarm.view.tally import Tally

ROLE_COLORS = ["cyan", "magenta", "green", "yellow", "blue", "bright_red", "bright_cyan", "bright_magenta"]
LEVEL_STYLE = {"info": "dim", "warning": "bold yellow", "error": "bold red"}


class LineFormatter:
    def __init__(self, show_output: bool = True) -> None:
        self._colors: dict[str, str] = {}
        self.show_output = show_output
        self._slots = ""  # the slot line last shown

    def color(self, sender: str) -> str:
        if sender not in self._colors:
            self._colors[sender] = ROLE_COLORS[len(self._colors) % len(ROLE_COLORS)]
        return self._colors[sender]

    def format(self, rec: dict[str, Any]) -> Text | None:
        kind = str(rec.get("kind", "?"))
        if kind == "handled" or (kind == "output" and not self.show_output):
            return None
        if kind == "slots":
            return self._slot_line(rec)
        sender = str(rec.get("sender") or "swarm")
        idea = str(rec.get("idea_id", "swarm"))
        head = f"[dim]{clock(rec.get('ts'))}[/] [{self.color(sender)}]{escape(sender):>14}[/] "
        where = f"[dim]{escape(idea)}[/] " if idea != "swarm" else ""
        body = escape(summarize(rec))
        if kind == "log":
            style = LEVEL_STYLE.get(str(rec.get("level")), "dim")
            return Text.from_markup(f"{head}{where}[{style}]{body}[/]")
        if kind in {"model_call", "sandbox_exec", "output"}:
            return Text.from_markup(f"{head}{where}[dim]{kind}: {body}[/]")
        if kind == "role_failed":
            return Text.from_markup(f"{head}{where}[bold red]role_failed[/] {body}")
        if kind == "run_status":
            return Text.from_markup(f"{head}[bold]{body}[/]" + _outcome_lines(rec))
        return Text.from_markup(f"{head}{where}[bold]{escape(kind)}[/] {body}")

    def _slot_line(self, rec: dict[str, Any]) -> Text | None:
        """The slots' state when it differs from the last one shown."""
        text = summarize(rec)
        if text == self._slots:
            return None
        self._slots = text
        style = "yellow" if rec.get("queued") else "cyan"
        return Text.from_markup(f"[dim]{clock(rec.get('ts'))}[/] {'sandbox':>14} [{style}]{escape(text)}[/]")


OUTCOME_STYLE = {"done": "green", "dropped": "yellow", "failed": "bold red", "unfinished": "yellow"}


def _outcome_lines(rec: dict[str, Any]) -> str:
    """The per-idea outcomes a final run_status carries, one markup line each."""
    outcomes = rec.get("outcomes")
    if not isinstance(outcomes, dict) or not outcomes:
        return ""
    lines = []
    for idea, o in outcomes.items():
        o = o if isinstance(o, dict) else {}
        outcome = str(o.get("outcome", "?"))
        detail = f" ({escape(str(o['detail']))})" if o.get("detail") else ""
        style = OUTCOME_STYLE.get(outcome, "bold")
        lines.append(
            f"\n    {escape(str(idea))}: [{style}]{outcome}[/] after {escape(str(o.get('stage') or '-'))}{detail}"
        )
    return "".join(lines)


class LiveView:
    """Transcript listener: prints lines above a live footer."""

    def __init__(self, console: Console | None = None, *, show_output: bool = True) -> None:
        self.console = console or Console()
        self.fmt = LineFormatter(show_output)
        self.tally = Tally()
        self.started = time.time()
        self._lock = threading.Lock()
        self._live: Live | None = None

    def count_earlier(self, transcript: Path) -> None:
        """Count (not print) the records an earlier process wrote, so a resumed run's footer tells its totals."""
        if transcript.is_file():
            with transcript.open("rb") as fh:
                for rec in filter(None, map(parse_line, fh)):
                    self.tally.add(rec)

    def __enter__(self) -> LiveView:
        if self.console.is_terminal:
            self._live = Live(self._footer(), console=self.console, refresh_per_second=4, transient=True)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)
            self._live = None
        self.console.print(self._footer())

    def _footer(self) -> Group:
        return Group(self.tally.footer(self.started))

    def __call__(self, rec: dict[str, Any]) -> None:
        with self._lock:
            self.tally.add(rec)
            line = self.fmt.format(rec)
            if line is not None:
                self.console.print(line, soft_wrap=True)
            if self._live is not None:
                self._live.update(self._footer())
