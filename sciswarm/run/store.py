"""Runs on disk: runs/<run_id>/run.json (config, status, totals) and transcript.jsonl."""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

Listener = Callable[[dict[str, Any]], None]
FINAL_STATUSES = frozenset({"completed", "partial", "stopped", "interrupted", "failed"})  # a run that has ended
EXIT_CODES = {"completed": 0, "failed": 1, "partial": 3, "stopped": 4, "interrupted": 130}  # `sciswarm run`'s


def new_run_id(name: str, runs_dir: Path | None = None) -> str:
    """``<date>-<time>-<name>``; with ``runs_dir``, one not taken there yet (two runs started in the same second
    get ``-2``, ``-3``, ...)."""
    slug = "".join(c if c.isalnum() or c in "-_" else "-" for c in name.lower()).strip("-") or "swarm"
    base = f"{datetime.now().strftime('%Y%m%d-%H%M%S')}-{slug}"
    run_id, n = base, 1
    while runs_dir is not None and (runs_dir / run_id).exists():
        n += 1
        run_id = f"{base}-{n}"
    return run_id


def write_json_atomic(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str))
    os.replace(tmp, path)


class Transcript:
    """Append-only JSONL, flushed per line, fanned out to live listeners. Thread-safe."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh = path.open("a", encoding="utf-8")
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []
        self.count = 0

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def write(self, item: BaseModel | dict[str, Any]) -> dict[str, Any]:
        record = item.model_dump(mode="json") if isinstance(item, BaseModel) else dict(item)
        summary = getattr(item, "summary", None)
        if callable(summary) and "summary" not in record:
            record["summary"] = summary()  # lets viewers show custom kinds they cannot parse
        line = json.dumps(record, ensure_ascii=False, default=str)
        with self._lock:
            if not self._fh.closed:
                self._fh.write(line + "\n")
                self._fh.flush()
            self.count += 1
        for listener in list(self._listeners):
            with contextlib.suppress(Exception):  # a broken viewer must never stop the run
                listener(record)
        return record

    def close(self) -> None:
        with self._lock:
            if not self._fh.closed:
                self._fh.flush()
                os.fsync(self._fh.fileno())
                self._fh.close()


def read_transcript(path: Path) -> Iterator[dict[str, Any]]:
    """Yield records; a torn last line (crash mid-write) is skipped, not fatal."""
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                continue


class RunStore:
    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.run_json = run_dir / "run.json"
        self.transcript_path = run_dir / "transcript.jsonl"

    @classmethod
    def create(cls, runs_dir: Path, run_id: str) -> RunStore:
        run_dir = runs_dir / run_id
        (run_dir / "ideas").mkdir(parents=True, exist_ok=False)
        return cls(run_dir)

    def idea_dir(self, idea_id: str) -> Path:
        d = self.run_dir / "ideas" / idea_id
        d.mkdir(parents=True, exist_ok=True)
        return d

    def write_meta(self, meta: dict[str, Any]) -> None:
        meta = {**meta, "updated_at": time.time()}
        write_json_atomic(self.run_json, meta)
