"""One way to follow a run's transcript.jsonl as it grows: the terminal's ``watch``, the browser's event
stream and the live tallies all read it through a ``Follower``.

It hands out complete lines only (a torn last line waits for its newline), numbers them so a reader can
resume at a line, and starts over when the file is replaced or truncated.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson


def parse_line(raw: bytes) -> dict[str, Any] | None:
    """A transcript record, or None for a blank or broken line."""
    raw = raw.strip()
    if not raw:
        return None
    try:
        rec = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return rec if isinstance(rec, dict) else None


class Follower:
    """Reads the records appended to ``path`` since the last call. ``offset``/``line``: where to start
    (a byte offset at the start of line number ``line``). ``skip``: raw lines not worth parsing for this
    reader (still counted)."""

    def __init__(
        self,
        path: Path,
        *,
        offset: int = 0,
        line: int = 0,
        chunk: int = 1 << 16,
        skip: Callable[[bytes], bool] | None = None,
    ) -> None:
        self.path = path
        self._skip = skip
        self.offset = offset  # just after the last complete line handed out
        self.line = line  # complete lines handed out so far (the next record's number)
        self._chunk = chunk
        self._ino: int | None = None
        self.restarts = 0  # times the file was replaced or truncated (readers of totals start over)

    def _check_file(self) -> bool:
        try:
            st = self.path.stat()
        except OSError:
            return False
        if self._ino is not None and (st.st_ino != self._ino or st.st_size < self.offset):
            self.offset, self.line = 0, 0  # replaced or truncated: start over
            self.restarts += 1
        self._ino = st.st_ino
        return st.st_size > self.offset

    def read(self, limit_bytes: int | None = None) -> list[tuple[int, dict[str, Any]]]:
        """(line number, record) of the complete lines appended since the last read; [] when none."""
        if not self._check_file():
            return []
        with self.path.open("rb") as fh:
            fh.seek(self.offset)
            size = limit_bytes or self._chunk
            data = fh.read(size)
            if len(data) == size and b"\n" not in data:
                data += fh.readline()  # one line longer than a chunk
        end = data.rfind(b"\n") + 1
        out: list[tuple[int, dict[str, Any]]] = []
        lines = data[:end].split(b"\n")[:-1] if end else []
        skip, first = self._skip, self.line
        for number, raw in enumerate(lines, first):
            if skip is not None and skip(raw):
                continue
            rec = parse_line(raw)
            if rec is not None:
                out.append((number, rec))
        self.line = first + len(lines)
        self.offset += end
        return out

    def read_all(self) -> list[tuple[int, dict[str, Any]]]:
        """Everything complete that is there now (in chunks)."""
        out: list[tuple[int, dict[str, Any]]] = []
        while True:
            before = self.offset
            out += self.read()
            if self.offset == before:
                return out
