"""The runs folder: validated run lookups, run summaries for the list, pages of transcript events, boards."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from sciswarm import procs
from sciswarm.view.follow import parse_line
from sciswarm.view.tally import Tally
from sciswarm.view.web.files import RUN_ID_RE
from sciswarm.view.web.state import RunState
from sciswarm.view.web.transcript import FINAL, LineIndex, prepare


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def pid_alive(pid: object) -> bool:
    """Like procs.pid_alive, for a pid read from run.json: unknown counts as alive."""
    return not isinstance(pid, int) or pid <= 0 or procs.pid_alive(pid)


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _num(value: object) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


class RunsFolder:
    """The runs directory: validated lookups, summaries, and per run a cached line index and state (totals
    and board), both read incrementally."""

    def __init__(self, runs_dir: Path) -> None:
        self.root = runs_dir.resolve()
        self._lock = threading.Lock()
        self._indexes: dict[str, LineIndex] = {}
        self._states: dict[str, RunState] = {}

    def run_dir(self, run_id: str) -> Path | None:
        if not RUN_ID_RE.fullmatch(run_id):
            return None
        path = self.root / run_id
        if not path.is_dir() or path.resolve().parent != self.root:
            return None
        if not (path / "run.json").is_file() and not (path / "transcript.jsonl").is_file():
            return None
        return path

    def index(self, run_id: str) -> LineIndex:
        with self._lock:
            if run_id not in self._indexes:
                self._indexes[run_id] = LineIndex(self.root / run_id / "transcript.jsonl")
            return self._indexes[run_id]

    def state(self, run_id: str) -> RunState:
        """The run's state, brought up to date with its transcript."""
        with self._lock:
            if run_id not in self._states:
                self._states[run_id] = RunState(self.root / run_id)
            state = self._states[run_id]
        return state.refresh()

    def tally(self, run_id: str) -> Tally:
        return self.state(run_id).tally

    def board(self, run_id: str, run_dir: Path) -> dict[str, Any]:
        """The board, with the run's totals: from run.json once the run has ended, else from the transcript."""
        out = self.state(run_id).snapshot()
        meta = read_json(run_dir / "run.json") or {}
        total = _dict(_dict(meta.get("totals")).get("total"))
        if meta.get("status") in FINAL and total:
            out["totals"].update(
                tokens=int(_num(total.get("tokens"))),
                cost=_num(total.get("cost_usd")),
                calls=int(_num(total.get("calls"))),
                messages=int(_num(meta.get("messages"))) or out["totals"]["messages"],
            )
        return out

    def summary(self, run_id: str, run_dir: Path) -> dict[str, Any]:
        meta = read_json(run_dir / "run.json") or {}
        total = _dict(_dict(meta.get("totals")).get("total"))
        status = str(meta.get("status") or "unknown")
        entry: dict[str, Any] = {
            "id": run_id,
            "name": str(meta.get("name") or run_id),
            "status": status,
            "reason": str(meta.get("reason") or ""),
            "started_at": _num(meta.get("started_at")) or run_dir.stat().st_mtime,
            "ended_at": _num(meta.get("ended_at")) or None,
            "tokens": int(_num(total.get("tokens"))),
            "cost": _num(total.get("cost_usd")),
            "calls": int(_num(total.get("calls"))),
            "messages": int(_num(meta.get("messages"))),
            "stale": False,
        }
        if status not in FINAL:  # run.json is written at start and end: take live numbers from the transcript
            tally = self.tally(run_id)
            entry.update(tokens=tally.tokens, cost=tally.cost, calls=tally.calls, messages=tally.messages)
            if tally.status in FINAL:
                entry["status"] = tally.status
            elif status == "running" and not pid_alive(meta.get("pid")):
                entry["stale"] = True  # the process is gone but never wrote a final status
        return entry

    def warm(self, stopping: threading.Event, newest: int = 3) -> None:
        """Read the transcripts of the running runs and the `newest` others into their state and line index."""
        try:
            dirs = sorted((p for p in self.root.iterdir() if self.run_dir(p.name)), key=_mtime, reverse=True)
        except OSError:
            return
        for rank, run_dir in enumerate(dirs):
            if stopping.is_set():
                return
            meta = read_json(run_dir / "run.json") or {}
            if rank < newest or meta.get("status") == "running":
                try:
                    self.state(run_dir.name)
                    self.index(run_dir.name).locate(1 << 62)
                except OSError:
                    continue

    def list_runs(self) -> list[dict[str, Any]]:
        runs: list[dict[str, Any]] = []
        try:
            names = [p.name for p in self.root.iterdir()]
        except OSError:
            return runs
        for name in names:
            run_dir = self.run_dir(name)
            if run_dir is not None:
                try:
                    runs.append(self.summary(name, run_dir))
                except OSError:
                    continue  # deleted while we looked
        runs.sort(key=lambda r: float(r["started_at"] or 0), reverse=True)
        return runs

    def events(
        self,
        run_id: str,
        run_dir: Path,
        after: int,
        limit: int,
        *,
        tail: int | None = None,
        idea: str | None = None,
        kinds: frozenset[str] | None = None,
    ) -> dict[str, Any]:
        """Records from line `after` (or the last `tail` lines), at most `limit`, optionally of one idea or
        some kinds only (the lines of other ideas or kinds are skipped, not counted)."""
        path = run_dir / "transcript.jsonl"
        index = self.index(run_id)
        if tail is not None:
            after = max(0, index.locate(1 << 62)[1] - tail)
        if not path.is_file():
            return {"events": [], "next": 0, "more": False} | ({"first": 0} if tail is not None else {})
        offset, line = index.locate(after)
        first = line
        events: list[dict[str, Any]] = []
        more = False
        with path.open("rb") as fh:
            fh.seek(offset)
            while True:
                if len(events) >= limit:
                    more = True
                    break
                raw = fh.readline()
                if not raw.endswith(b"\n"):
                    break  # end of file, or a line still being written
                seq, line = line, line + 1
                rec = parse_line(raw)
                if rec is None:
                    continue
                if (idea and rec.get("idea_id") != idea) or (kinds and rec.get("kind") not in kinds):
                    continue
                events.append(prepare(rec, seq, run_dir))
        out: dict[str, Any] = {"events": events, "next": line, "more": more}
        if tail is not None:
            out["first"] = first
        return out
