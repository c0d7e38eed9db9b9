"""One output stream of a run: live lines to a callback, a capped log file, and a tail for the result."""

from __future__ import annotations

import codecs
import logging
from collections.abc import Callable
from pathlib import Path
from typing import IO, Literal

StreamName = Literal["stdout", "stderr"]
LineCallback = Callable[[StreamName, str], None]

log = logging.getLogger(__name__)


class OutputSink:
    """Feed raw bytes in; complete lines go to `on_line`, bytes to `log_path` (at most `max_log_bytes`)."""

    def __init__(
        self,
        stream: StreamName,
        log_path: Path,
        *,
        max_log_bytes: int,
        tail_chars: int,
        on_line: LineCallback | None = None,
    ) -> None:
        self.stream: StreamName = stream
        self.log_path = log_path
        self._max = max(0, max_log_bytes)
        self._tail_chars = max(0, tail_chars)
        self._on_line = on_line
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._partial = ""
        self._tail = ""
        self._written = 0
        self.truncated = False
        self.total_bytes = 0
        self._file: IO[bytes] | None = log_path.open("wb")

    @property
    def tail(self) -> str:
        return self._tail

    def feed(self, data: bytes) -> None:
        if not data:
            return
        self.total_bytes += len(data)
        self._write_log(data)
        self._emit(self._decoder.decode(data))

    def close(self) -> None:
        self._emit(self._decoder.decode(b"", final=True))
        if self._partial:
            self._call(self._partial)
            self._partial = ""
        if self._file is not None:
            if self.truncated:
                note = f"\n[sciswarm: log truncated at {self._max} of {self.total_bytes} bytes]\n"
                self._file.write(note.encode())
            self._file.close()
            self._file = None

    def _write_log(self, data: bytes) -> None:
        if self._file is None:
            return
        room = self._max - self._written
        if room <= 0:
            self.truncated = True
            return
        chunk = data[:room]
        self._file.write(chunk)
        self._file.flush()
        self._written += len(chunk)
        if len(chunk) < len(data):
            self.truncated = True

    def _emit(self, text: str) -> None:
        if not text:
            return
        if self._tail_chars:
            self._tail = (self._tail + text)[-self._tail_chars :]
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()
        for line in lines:
            self._call(line.removesuffix("\r"))

    def _call(self, line: str) -> None:
        if self._on_line is None:
            return
        try:
            self._on_line(self.stream, line)
        except Exception:  # a broken viewer must not break the run
            log.exception("on_output callback failed; further lines still go to the log")
