"""Running totals of a transcript (tokens, dollars, calls, messages, each idea's last message, the status, the
experiment slots): the terminal's footer, ``watch`` and the browser's run list all count with this."""

from __future__ import annotations

import time
from typing import Any

from rich.text import Text

from sciswarm.events import TRACE_KINDS
from sciswarm.view.render import summarize


class Tally:
    """Running totals shown in the footer (also used by `watch`)."""

    def __init__(self) -> None:
        self.tokens = 0
        self.cost = 0.0
        self.calls = 0
        self.messages = 0
        self.ideas: dict[str, str] = {}  # idea_id -> last message kind
        self.status = "running"
        self.scripted = False
        self.slots = ""  # the latest slots record's summary ("slots 2/4 busy, 3 queued")

    def add(self, rec: dict[str, Any]) -> None:
        kind = rec.get("kind")
        if kind == "model_call" and rec.get("ok", True):
            self.tokens += int(rec.get("prompt_tokens", 0)) + int(rec.get("completion_tokens", 0))
            self.cost += float(rec.get("cost_usd", 0.0))
            self.calls += 1
            self.scripted = self.scripted or bool(rec.get("scripted"))
        elif kind == "run_status":
            self.status = str(rec.get("status"))
        elif kind == "slots":
            self.slots = summarize(rec)
        elif kind not in TRACE_KINDS:
            self.messages += 1
            idea = str(rec.get("idea_id", "swarm"))
            if idea != "swarm":
                self.ideas[idea] = str(kind)

    def footer(self, started: float | None = None) -> Text:
        label = " (scripted)" if self.scripted else ""
        elapsed = f" | {time.time() - started:.0f}s" if started else ""
        text = Text.from_markup(
            f"[bold]{self.status}[/] | {self.messages} messages | {self.calls} model calls{label} | "
            f"{self.tokens:,} tokens | ${self.cost:.4f}{elapsed}"
        )
        if self.slots:
            text.append(f" | {self.slots}")
        for idea, kind in self.ideas.items():
            text.append(f"\n  {idea}: last {kind}")
        return text
