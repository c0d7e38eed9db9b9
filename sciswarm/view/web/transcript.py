"""Reading a run's transcript.jsonl: parsed records as the browser gets them, and line offsets.

Line numbers count complete lines (ending in a newline), so they stay stable while the run appends; a torn
last line is not read until its newline arrives.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from sciswarm.run.store import FINAL_STATUSES
from sciswarm.view.render import summarize
from sciswarm.view.web.files import artifacts

FINAL = FINAL_STATUSES


def prepare(rec: dict[str, Any], seq: int, run_dir: Path) -> dict[str, Any]:
    """A transcript record as the browser gets it: plus its line number, a summary and artifact links."""
    out = dict(rec)
    out["_seq"] = seq
    if not isinstance(out.get("summary"), str):
        try:
            out["summary"] = summarize(rec)
        except Exception as exc:  # a record we cannot describe must not break the stream
            out["summary"] = f"({type(exc).__name__} while summarizing)"
    links = artifacts(rec, run_dir)
    if links:
        out["_artifacts"] = links
    return out


class LineIndex:
    """Byte offsets of complete lines in an append-only file, kept every STEP lines; updated incrementally."""

    STEP = 256

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self._marks = [0]  # byte offset of line k * STEP
        self.lines = 0  # complete lines seen
        self._pos = 0  # byte offset just after the last complete line
        self._ino = -1

    def _refresh(self) -> None:
        try:
            st = self.path.stat()
        except OSError:
            self._reset()
            return
        if st.st_ino != self._ino or st.st_size < self._pos:
            self._reset()
            self._ino = st.st_ino
        if st.st_size == self._pos:
            return
        with self.path.open("rb") as fh:
            fh.seek(self._pos)
            data = fh.read(st.st_size - self._pos)
        start = 0
        while (nl := data.find(b"\n", start)) >= 0:
            start = nl + 1
            self.lines += 1
            if self.lines % self.STEP == 0:
                self._marks.append(self._pos + start)
        self._pos += start

    def locate(self, line: int) -> tuple[int, int]:
        """(byte offset, line number) of line `line`, clamped to the complete lines present."""
        with self._lock:
            self._refresh()
            line = max(0, min(line, self.lines))
            mark = line // self.STEP
            offset = self._marks[mark]
            skip = line - mark * self.STEP
        if skip:
            with self.path.open("rb") as fh:
                fh.seek(offset)
                for _ in range(skip):
                    fh.readline()
                offset = fh.tell()
        return offset, line
