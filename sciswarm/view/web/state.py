"""What the viewer keeps per run between requests: the transcript read once, incrementally (a Follower), into
the running totals (Tally) and the research board (Board), plus what the board needs from disk: each idea's
baseline, the tree search's re-runs and the objective.

A request never re-reads the whole transcript: `refresh()` reads the lines appended since the last call.
Experiment output lines (most of a long transcript) are counted but not parsed: neither the totals nor the
board use them. A replaced or truncated transcript starts everything over (`generation` changes, so live
streams send the whole board again).
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from sciswarm.view.board import Board
from sciswarm.view.follow import Follower
from sciswarm.view.metrics import Means, means_of
from sciswarm.view.tally import Tally

OUTPUT_PREFIX = b'{"kind": "output"'  # how the run store writes an output line (the kind comes first)
BASELINE_RETRY_S = 2.0


def _skip_output(raw: bytes) -> bool:
    return raw.startswith(OUTPUT_PREFIX)


class RunState:
    """The totals and the board of one run, kept current by `refresh()` (thread-safe)."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.path = run_dir / "transcript.jsonl"
        self._lock = threading.RLock()
        self.generation = 0
        self._start()

    def _start(self) -> None:
        self.follower = Follower(self.path, skip=_skip_output, chunk=1 << 20)
        self.tally = Tally()
        self.tally.status = ""  # no run_status seen yet
        self.board = Board()
        self.last_ts = 0.0
        self._baselines: dict[str, Means] = {}
        self._looked: dict[str, float] = {}  # idea -> when its baseline was last looked for (not found)
        self._disk: dict[str, tuple[tuple[int, ...], dict[int, Means]]] = {}  # idea -> (runs, their means)
        self._objective_looked = -BASELINE_RETRY_S
        self.generation += 1

    def refresh(self) -> RunState:
        with self._lock:
            restarts = self.follower.restarts
            while True:
                before = (self.follower.offset, self.follower.restarts)
                batch = self.follower.read()
                if self.follower.restarts != restarts:  # replaced: what was read before belongs to the old file
                    restarts = self.follower.restarts
                    follower = self.follower
                    self._start()
                    self.follower = follower
                for _, rec in batch:
                    self.tally.add(rec)
                    self.board.add(rec)
                    ts = rec.get("ts")
                    if isinstance(ts, int | float):
                        self.last_ts = max(self.last_ts, float(ts))
                if (self.follower.offset, self.follower.restarts) == before:
                    return self

    @property
    def lines(self) -> int:
        return self.follower.line

    def baseline(self, idea_id: str) -> Means:
        """run_0's means for an idea ({} until its final_info.json is there; looked for again every 2 s)."""
        with self._lock:
            if idea_id in self._baselines:
                return self._baselines[idea_id]
            now = time.monotonic()
            if now - self._looked.get(idea_id, -BASELINE_RETRY_S) < BASELINE_RETRY_S:
                return {}
            self._looked[idea_id] = now
        found = read_means(self.run_dir / "ideas" / idea_id / "workspace" / "run_0" / "final_info.json")
        if found:
            with self._lock:
                self._baselines[idea_id] = found
        return found

    def disk_runs(self, idea_id: str) -> dict[int, Means]:
        """The means of the runs experiments_done named that no experiment_run reported (the tree search's
        re-runs), read once from the idea's workspace."""
        with self._lock:
            idea = self.board.ideas.get(idea_id)
            wanted = tuple(r for r in idea.done_runs if r not in idea.results) if idea else ()
            if not wanted:
                return {}
            if idea_id in self._disk and self._disk[idea_id][0] == wanted:
                return self._disk[idea_id][1]
        ws = self.run_dir / "ideas" / idea_id / "workspace"
        found = {r: m for r in wanted if (m := read_means(ws / f"run_{r}" / "final_info.json"))}
        with self._lock:
            self._disk[idea_id] = (wanted, found)
        return found

    def objective(self) -> None:
        """The tree search's objective, once known: the run's YAML (the coder's tree params), else an idea's
        tree.json, else the template's prompt.json in a workspace (looked for every 2 s until found)."""
        now = time.monotonic()
        if self.board.objective or now - self._objective_looked < BASELINE_RETRY_S:
            return
        self._objective_looked = now
        found = objective_in(self.run_dir, list(self.board.ideas))
        if found:
            self.board.objective = found

    def idea_records(self, idea_id: str) -> list[dict[str, Any]] | None:
        """The records an idea's page is drawn from (Board.KEPT_KINDS), or None for an idea never seen."""
        with self._lock:
            held = self.board.ideas.get(idea_id)
            return list(held.records) if held is not None else None

    def card(self, idea_id: str) -> dict[str, Any]:
        with self._lock:
            self.objective()
            return self.board.card(idea_id, self.baseline(idea_id), disk=self.disk_runs(idea_id))

    def snapshot(self) -> dict[str, Any]:
        """The whole board (call `refresh()` first)."""
        with self._lock:
            self.objective()
            baselines = {i: self.baseline(i) for i in self.board.ideas}
            out = self.board.snapshot(baselines, {i: self.disk_runs(i) for i in self.board.ideas})
            out.update(totals=self.totals(), line=self.lines, generation=self.generation, last_ts=self.last_ts)
            return out

    def changes(self, sent: dict[str, Any], generation: int) -> dict[str, Any] | None:
        """The cards whose version differs from `sent` (updated in place), the slots and totals; None when
        nothing changed. A different `generation` (the transcript was replaced) sends everything."""
        with self._lock:
            if generation != self.generation:
                sent.clear()
            self.objective()
            objective = bool(self.board.objective)
            keys = {
                i: (idea.version, bool(self.baseline(i)), len(self.disk_runs(i)), objective)
                for i, idea in self.board.ideas.items()
            }
            cards = [self.card(i) for i, key in keys.items() if sent.get(i) != key]
            run_version = self.board.version + self.tally.messages + self.tally.calls
            if not cards and sent.get("", -1) == run_version:
                return None
            for card in cards:
                sent[card["id"]] = keys[card["id"]]
            sent[""] = run_version
            return {
                "ideas": cards,
                "slots": self.board.slots(),
                "status": self.board.status,
                "totals": self.totals(),
                "line": self.lines,
                "generation": self.generation,
                "last_ts": self.last_ts,
                "full": generation != self.generation,
            }

    def totals(self) -> dict[str, Any]:
        t = self.tally
        return {
            "tokens": t.tokens,
            "cost": t.cost,
            "calls": t.calls,
            "messages": t.messages,
            "status": t.status,
            "scripted": t.scripted,
            "ideas": len(self.board.ideas),
        }


def read_means(path: Path) -> dict[str, dict[str, float]]:
    try:
        return means_of(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return {}


def objective_in(run_dir: Path, ideas: list[str]) -> dict[str, Any] | None:
    """Where the tree search's objective is written down (see RunState.objective)."""
    try:
        config = json.loads((run_dir / "run.json").read_text(encoding="utf-8")).get("config") or {}
    except (OSError, ValueError, AttributeError):
        config = {}
    for role in config.get("roles") or [] if isinstance(config, dict) else []:
        tree = ((role or {}).get("params") or {}).get("tree") if isinstance(role, dict) else None
        if isinstance(tree, dict) and isinstance(tree.get("objective"), dict):
            return dict(tree["objective"])
    for idea in ideas:
        for path in (run_dir / "ideas" / idea / "tree.json", run_dir / "ideas" / idea / "workspace" / "prompt.json"):
            try:
                found = json.loads(path.read_text(encoding="utf-8")).get("objective")
            except (OSError, ValueError, AttributeError):
                continue
            if isinstance(found, dict) and found.get("metric"):
                return dict(found)
    return None
