"""The research board of a run: one card per idea (its stage, novelty verdict, runs, best metric against the
baseline, tokens and dollars, review, outcome) and the run's experiment slots, from the transcript's records.

A pure fold over records: ``Board.add(record)`` for each transcript line, in order; ``card(idea, baseline)``
and ``snapshot(baselines)`` read it. Nothing here touches the disk: the baseline (``run_0``'s results, which no
record carries), the tree search's re-runs (on disk only) and the objective are given by the caller. The web
viewer keeps one Board per run and feeds it the lines appended since its last read; each card has a ``version``
that changes whenever the idea does, so the live stream sends only the cards that changed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sciswarm.run.outcome import IdeaOutcome, Outcomes
from sciswarm.view.metrics import Means, best, means_of

STAGES = ("idea", "novelty", "experiments", "writing", "review")
STAGE_OF = {
    "idea": "idea",
    "novelty": "novelty",
    "plan": "experiments",
    "code_change": "experiments",
    "experiment_run": "experiments",
    "experiments_done": "experiments",
    "tree_node": "experiments",
    "figures": "experiments",
    "draft": "writing",
    "claims_audit": "writing",
    "paper": "writing",
    "revision": "writing",
    "review": "review",
    "meta_review": "review",
}
# the records an idea page is drawn from (everything else is counted, not kept)
KEPT_KINDS = (frozenset(STAGE_OF) - {"code_change", "draft"}) | {"role_failed"}
_SLOTS = re.compile(r"experiments run at most (\d+) at a time")
SWARM = "swarm"


@dataclass
class IdeaState:
    """Everything the board knows about one idea."""

    idea_id: str
    title: str = ""
    stage: str = "idea"
    last_kind: str = ""
    last_ts: float = 0.0
    novelty: str = ""
    runs_ok: set[int] = field(default_factory=set)
    failed_attempts: int = 0
    pending: set[tuple[int, int]] = field(default_factory=set)  # (run, attempt) changed, not yet run
    results: dict[int, Means] = field(default_factory=dict)  # run -> means, from experiment_run records
    done_runs: list[int] = field(default_factory=list)  # experiments_done's runs (tree re-runs are on disk only)
    tree_good: int = 0
    tree_buggy: int = 0
    tree_running: set[str] = field(default_factory=set)  # tree nodes whose run started and has not finished
    searched: list[tuple[str, float]] = field(default_factory=list)  # tree nodes' objective values (search runs)
    tokens: int = 0
    cost: float = 0.0
    calls: int = 0
    papers: int = 0
    revision: int = 0
    overall: int | None = None
    decision: str = ""
    reviews: int = 0
    version: int = 0
    records: list[dict[str, Any]] = field(default_factory=list)  # KEPT_KINDS records, in order


class Board:
    """A run's board, fed record by record."""

    def __init__(self) -> None:
        self.ideas: dict[str, IdeaState] = {}
        self.outcomes = Outcomes(final_kind="meta_review", expects_paper=True)
        self.final: dict[str, dict[str, Any]] = {}  # the outcomes of the final run_status, once there
        self.status = ""
        self.slot_limit: int | None = None
        self.slot_state: dict[str, int] | None = None  # the sandbox's latest slots record (busy, limit, queued)
        self.objective: dict[str, Any] = {}
        self.records = 0
        self.version = 0  # changes when the run-level part (slots, status) does

    def _idea(self, idea_id: str) -> IdeaState:
        if idea_id not in self.ideas:
            self.ideas[idea_id] = IdeaState(idea_id)
        return self.ideas[idea_id]

    def add(self, rec: dict[str, Any]) -> None:
        self.records += 1
        kind = str(rec.get("kind", ""))
        idea_id = str(rec.get("idea_id") or SWARM)
        if kind == "run_status":
            self.status = str(rec.get("status") or "")
            outcomes = rec.get("outcomes")
            if isinstance(outcomes, dict) and outcomes:
                self.final = {str(k): v for k, v in outcomes.items() if isinstance(v, dict)}
                for k in self.final:
                    if k in self.ideas:
                        self.ideas[k].version += 1
            self.version += 1
            return
        if kind == "log" and (m := _SLOTS.search(str(rec.get("text", "")))):
            self.slot_limit = int(m.group(1))
            self.version += 1
            return
        if kind == "slots":
            self.slot_state = {k: int(rec.get(k) or 0) for k in ("busy", "limit", "queued")}
            self.version += 1
            return
        if kind == "start" and isinstance(rec.get("objective"), dict):
            self.objective = dict(rec["objective"])
        if idea_id == SWARM:
            return
        if kind == "model_call":
            if rec.get("ok", True):
                idea = self._idea(idea_id)
                idea.tokens += int(rec.get("prompt_tokens") or 0) + int(rec.get("completion_tokens") or 0)
                idea.cost += float(rec.get("cost_usd") or 0.0)
                idea.calls += 1
                idea.version += 1
            return
        if kind in {"output", "sandbox_exec", "handled", "log"}:
            return
        self.outcomes.observe(rec)
        idea = self._idea(idea_id)
        idea.version += 1
        idea.last_kind = kind
        idea.last_ts = float(rec.get("ts") or 0.0) or idea.last_ts
        if kind in STAGE_OF:
            idea.stage = STAGE_OF[kind]
        if kind in KEPT_KINDS:
            idea.records.append(rec)
        self._apply(idea, kind, rec)

    def _apply(self, idea: IdeaState, kind: str, rec: dict[str, Any]) -> None:
        if kind == "idea":
            idea.title = str(rec.get("title") or rec.get("name") or idea.idea_id)
        elif kind == "novelty":
            idea.novelty = str(rec.get("verdict") or "")
        elif kind == "code_change":
            idea.pending.add((int(rec.get("run") or 0), int(rec.get("attempt") or 1)))
        elif kind == "experiment_run":
            run, attempt = int(rec.get("run") or 0), int(rec.get("attempt") or 1)
            idea.pending.discard((run, attempt))
            if rec.get("ok"):
                idea.runs_ok.add(run)
                idea.results[run] = means_of(rec.get("results"))
            else:
                idea.failed_attempts += 1
        elif kind == "tree_node":
            node = str(rec.get("node") or "?")
            if rec.get("status") == "running":
                idea.tree_running.add(node)
                return
            idea.tree_running.discard(node)
            good = rec.get("status") == "good"
            idea.tree_good, idea.tree_buggy = idea.tree_good + good, idea.tree_buggy + (not good)
            if good and isinstance(rec.get("metric"), int | float):
                idea.searched.append((str(rec.get("node") or "?"), float(rec["metric"])))
        elif kind in {"experiments_done", "figures"}:
            idea.pending.clear()
            if kind == "experiments_done" and isinstance(rec.get("runs"), list):
                idea.done_runs = [r for r in rec["runs"] if isinstance(r, int)]
        elif kind == "paper":
            idea.papers += 1
            idea.revision = int(rec.get("revision") or 0)
        elif kind == "review":
            idea.reviews += 1
        elif kind == "meta_review" and isinstance(rec.get("review"), dict):
            overall = rec["review"].get("Overall")
            idea.overall = int(overall) if isinstance(overall, int | float) else None
            idea.decision = str(rec["review"].get("Decision") or "")

    # ---- reading ----
    def outcome(self, idea_id: str, judged_all: dict[str, IdeaOutcome] | None = None) -> tuple[str, str]:
        """(outcome, detail): done, failed, dropped, unfinished as run/outcome.py judges; running while the
        run goes on and the idea has not ended."""
        if idea_id in self.final:
            got = self.final[idea_id]
            return str(got.get("outcome") or "unfinished"), str(got.get("detail") or "")
        judged = (judged_all if judged_all is not None else self.outcomes.ideas()).get(idea_id)
        if judged is None:
            return ("unfinished" if self.status not in {"", "running"} else "running"), ""
        if judged.outcome == "unfinished" and self.status in {"", "running"}:
            return "running", ""
        return judged.outcome, judged.detail

    def card(
        self,
        idea_id: str,
        baseline: Means | None = None,
        judged: dict[str, IdeaOutcome] | None = None,
        disk: dict[int, Means] | None = None,
    ) -> dict[str, Any]:
        """`baseline`: run_0's means; `disk`: the means of runs no experiment_run reported (tree re-runs)."""
        idea = self._idea(idea_id)
        runs = {**(disk or {}), **idea.results}
        outcome, detail = self.outcome(idea_id, judged)
        stage = idea.stage
        return {
            "id": idea_id,
            "title": idea.title or idea_id,
            "stage": stage,
            "stage_index": STAGES.index(stage),
            "last_kind": idea.last_kind,
            "last_ts": idea.last_ts,
            "novelty": idea.novelty,
            "runs_done": len(idea.runs_ok),
            "runs_failed": idea.failed_attempts,
            "in_flight": len(idea.pending),
            "best": best(runs, baseline or {}, self.objective, idea.searched),
            "tree": self._tree(idea),
            "tokens": idea.tokens,
            "cost": idea.cost,
            "calls": idea.calls,
            "papers": idea.papers,
            "revision": idea.revision,
            "reviews": idea.reviews,
            "overall": idea.overall,
            "decision": idea.decision,
            "outcome": outcome,
            "detail": detail,
            "version": idea.version,
        }

    def _tree(self, idea: IdeaState) -> dict[str, int] | None:
        """The tree search's node counts; running: started, not finished, while the run goes on."""
        running = len(idea.tree_running) if self.status in {"", "running"} else 0
        if not idea.tree_good + idea.tree_buggy + running:
            return None
        return {"good": idea.tree_good, "buggy": idea.tree_buggy, "running": running}

    def slots(self) -> dict[str, Any]:
        """Slots busy/free and the queue, as the sandbox's latest slots record says. A transcript without one
        (an older run): runs in flight (changed, not yet run) and, when the run logged its bound, inferred."""
        if self.slot_state is not None:
            busy, limit, queued = (self.slot_state[k] for k in ("busy", "limit", "queued"))
            return {
                "in_flight": busy + queued,
                "limit": limit,
                "busy": busy,
                "free": max(0, limit - busy),
                "queued": queued,
            }
        in_flight = sum(len(i.pending) for i in self.ideas.values())
        out: dict[str, Any] = {"in_flight": in_flight, "limit": self.slot_limit}
        if self.slot_limit:
            busy = min(in_flight, self.slot_limit)
            out.update(busy=busy, free=self.slot_limit - busy, queued=max(0, in_flight - self.slot_limit))
        return out

    def snapshot(
        self, baselines: dict[str, Means] | None = None, disks: dict[str, dict[int, Means]] | None = None
    ) -> dict[str, Any]:
        baselines, disks = baselines or {}, disks or {}
        judged = self.outcomes.ideas()
        cards = [self.card(i, baselines.get(i), judged, disks.get(i)) for i in self.ideas]
        return {"stages": list(STAGES), "ideas": cards, "slots": self.slots(), "status": self.status}


def board_of(records: list[dict[str, Any]], baselines: dict[str, Means] | None = None) -> dict[str, Any]:
    """The board of a list of records (what tests and one-off readers use)."""
    board = Board()
    for rec in records:
        board.add(rec)
    return board.snapshot(baselines)
