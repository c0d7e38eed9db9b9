"""The runs folder: validated run lookups, run summaries for the list, and pages of transcript events."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from sciswarm import procs
from sciswarm.view.follow import parse_line
from sciswarm.view.tally import Tally
from sciswarm.view.web.files import RUN_ID_RE
from sciswarm.view.web.transcript import FINAL, LineIndex, RunTally, prepare


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


def _num(value: object) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


class RunsFolder:
    """The runs directory: validated lookups, summaries, cached line indexes and tallies."""

    def __init__(self, runs_dir: Path) -> None:
        self.root = runs_dir.resolve()
        self._lock = threading.Lock()
        self._indexes: dict[str, LineIndex] = {}
        self._tallies: dict[str, RunTally] = {}

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

    def tally(self, run_id: str) -> Tally:
        with self._lock:
            rt = self._tallies.setdefault(run_id, RunTally())
            return rt.update(self.root / run_id / "transcript.jsonl")

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

    def events(self, run_id: str, run_dir: Path, after: int, limit: int) -> dict[str, Any]:
        path = run_dir / "transcript.jsonl"
        if not path.is_file():
            return {"events": [], "next": 0, "more": False}
        offset, line = self.index(run_id).locate(after)
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
                if rec is not None:
                    events.append(prepare(rec, seq, run_dir))
        return {"events": events, "next": line, "more": more}
