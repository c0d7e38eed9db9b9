"""What a run produced, idea by idea, and the status that follows from it.

A run whose bus went idle is ``completed`` only when every idea reached its end (dropped as not novel, or
carried to the swarm's last stage) and, in a swarm with a writer, at least one paper exists. Otherwise it is
``failed`` (nothing useful came out) or ``partial`` (some ideas failed or stopped short). The reason names
the role and the cause. Runs ended by a limit (``stopped``) or by the user (``interrupted``) keep that status;
their ideas' outcomes are listed all the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel

from sciswarm.errors import one_line
from sciswarm.events import TRACE_KINDS

Outcome = Literal["done", "dropped", "failed", "unfinished"]
SWARM = "swarm"
NOT_IDEA_KINDS = TRACE_KINDS | {"start", "stop"}  # trace events, and the run's own messages


class IdeaOutcome(BaseModel):
    """One idea's end, as run.json, the final line and the viewers show it."""

    outcome: Outcome
    stage: str  # the last message kind of the idea
    detail: str = ""
    papers: int = 0


@dataclass
class _Idea:
    last_kind: str = ""
    kinds: set[str] = field(default_factory=set)
    papers: int = 0
    dropped: str = ""
    failures: list[str] = field(default_factory=list)
    degraded: list[str] = field(default_factory=list)  # a part of a role failed, the role went on
    gave_up: str = ""  # the last paper's writer stage whose model call failed for good (the paper kept its text)


def _failure(record: dict[str, Any]) -> str:
    """ "role: cause", once (errors that already start with the role's name keep theirs)."""
    role, error = str(record.get("role") or record.get("sender")), one_line(str(record.get("error", "")), 240)
    return error if error.startswith(f"{role}:") else f"{role}: {error}"


class Outcomes:
    """Watches every message of a run (as transcript records; a resumed run replays its transcript) and
    judges the run at its end.

    ``final_kind`` is the kind that ends an idea in this swarm (e.g. ``meta_review``), or None when the swarm
    has no pipeline end (then an idea ends when nothing more happens to it); ``expects_paper``: the swarm has
    a role that publishes papers, so a run without one produced nothing.
    """

    def __init__(self, *, final_kind: str | None, expects_paper: bool) -> None:
        self.final_kind = final_kind
        self.expects_paper = expects_paper
        self._ideas: dict[str, _Idea] = {}

    @classmethod
    def for_roles(cls, publishes: list[list[str] | None]) -> Outcomes:
        kinds = {k for p in publishes for k in (p or [])}
        final = next((k for k in ("meta_review", "paper") if k in kinds), None)
        return cls(final_kind=final, expects_paper="paper" in kinds)

    def observe(self, record: dict[str, Any]) -> None:
        """One bus message, as written to the transcript (trace events are ignored)."""
        kind = str(record.get("kind", ""))
        if kind in NOT_IDEA_KINDS:
            return
        idea = self._ideas.setdefault(str(record.get("idea_id", SWARM)), _Idea())
        if kind == "role_failed":
            (idea.degraded if "/" in str(record.get("role", "")) else idea.failures).append(_failure(record))
            return
        idea.last_kind = kind
        idea.kinds.add(kind)
        if kind == "paper":
            idea.papers += 1
            idea.gave_up = one_line(str(record.get("gave_up") or ""), 240)
        elif kind == "novelty" and record.get("proceed") is False:
            idea.dropped = f"judged {record.get('verdict')}"
        elif kind == "meta_review":
            idea.failures.clear()  # the idea reached its end after all (e.g. a revision's retry)

    def ideas(self) -> dict[str, IdeaOutcome]:
        out: dict[str, IdeaOutcome] = {}
        for idea_id, idea in self._ideas.items():
            if idea_id == SWARM:
                continue
            out[idea_id] = self._judge(idea)
        return out

    def _judge(self, idea: _Idea) -> IdeaOutcome:
        papers = f"{idea.papers} paper(s)" if idea.papers else "no paper"
        gave_up = [f"writer gave up at {idea.gave_up}"] if idea.gave_up else []
        notes = "; ".join(idea.degraded + gave_up)
        if idea.failures:
            detail = idea.failures[0] + (f" ({papers})" if self.expects_paper else "")
            return IdeaOutcome(outcome="failed", stage=idea.last_kind, detail=detail, papers=idea.papers)
        if idea.dropped:
            return IdeaOutcome(outcome="dropped", stage=idea.last_kind, detail=idea.dropped)
        if self.final_kind is None or self.final_kind in idea.kinds:
            detail = ", ".join(x for x in (papers if self.expects_paper else "", notes) if x)
            return IdeaOutcome(outcome="done", stage=idea.last_kind, detail=detail, papers=idea.papers)
        detail = f"stopped after {idea.last_kind or 'nothing'}, before {self.final_kind}"
        return IdeaOutcome(outcome="unfinished", stage=idea.last_kind, detail=detail, papers=idea.papers)

    def verdict(self) -> tuple[Literal["completed", "partial", "failed"], str]:
        """The status of a run whose bus went idle, and why."""
        ideas = self.ideas()
        swarm = self._ideas.get(SWARM, _Idea())
        problems = [f"{i}: {o.detail}" for i, o in ideas.items() if o.outcome in ("failed", "unfinished")]
        problems = [*swarm.failures, *problems]
        good = [i for i, o in ideas.items() if o.outcome == "done"]
        papers = sum(o.papers for o in ideas.values())
        if not ideas:
            return "failed", "no idea came out: " + ("; ".join(problems) or "no role published anything")
        if self.expects_paper and papers == 0:
            dropped = [f"{i}: {o.detail}" for i, o in ideas.items() if o.outcome == "dropped"]
            return "failed", "no paper came out: " + "; ".join(problems + dropped)
        if problems and not good and not self.expects_paper:
            return "failed", "no idea reached its end: " + "; ".join(problems)
        if problems:
            n_bad = sum(o.outcome in ("failed", "unfinished") for o in ideas.values())
            head = f"{n_bad} of {len(ideas)} idea(s) did not reach the end" if n_bad else "a role failed"
            return "partial", f"{head}: " + "; ".join(problems)
        tail = f", {papers} paper(s)" if self.expects_paper else ""
        return "completed", f"every idea reached its end ({len(ideas)} idea(s){tail})"
