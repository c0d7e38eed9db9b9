"""The live stream: Server-Sent Events tailing a run's transcript.jsonl until the run reaches a final status.

Each event's id is the line number after it, so an EventSource reconnecting with Last-Event-ID resumes where
it left off. The stream ends with an `end` event (status, reason, next line) and then the connection closes.
"""

from __future__ import annotations

import json
import time
from http.server import BaseHTTPRequestHandler
from io import BufferedIOBase
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sciswarm.view.follow import Follower
from sciswarm.view.web.runs import pid_alive, read_json
from sciswarm.view.web.transcript import FINAL, prepare

if TYPE_CHECKING:
    from sciswarm.view.web.server import ViewerServer


def stream(handler: BaseHTTPRequestHandler, app: ViewerServer, run_id: str, run_dir: Path, after: int) -> None:
    """Answer `handler`'s request with the event stream of `run_id` from line `after`."""
    path = run_dir / "transcript.jsonl"
    handler.send_response(200)
    handler.send_header("Content-Type", "text/event-stream; charset=utf-8")
    handler.send_header("Cache-Control", "no-store")
    handler.send_header("X-Accel-Buffering", "no")
    handler.end_headers()
    if handler.command == "HEAD":
        return
    out_fh = handler.wfile
    _emit(out_fh, b"retry: 2000\n\n")
    offset, line = app.runs.index(run_id).locate(after) if path.is_file() else (0, 0)
    follower = Follower(path, offset=offset, line=line)
    last_beat = time.monotonic()
    closing = False  # run.json says final: one more read, then end
    while not app.stopping.is_set():
        batch = follower.read()
        if batch or follower.line != line:
            line = follower.line
            out: list[bytes] = []
            final: dict[str, Any] | None = None
            for seq, rec in batch:
                data = json.dumps(prepare(rec, seq, run_dir), ensure_ascii=False, default=str)
                out.append(f"id: {seq + 1}\ndata: {data}\n\n".encode())
                if rec.get("kind") == "run_status" and rec.get("status") in FINAL:
                    final = rec
            if out:
                _emit(out_fh, b"".join(out))
            if final is not None:
                _end(out_fh, str(final["status"]), str(final.get("reason") or ""), line)
                return
            continue
        if closing:
            meta = read_json(run_dir / "run.json") or {}
            _end(out_fh, str(meta.get("status")), str(meta.get("reason") or ""), line)
            return
        meta = read_json(run_dir / "run.json") or {}
        status = meta.get("status")
        if status in FINAL:
            closing = True
            continue
        if status == "running" and not pid_alive(meta.get("pid")):
            _end(out_fh, "unknown", "the run's process is gone without a final status", line)
            return
        now = time.monotonic()
        if now - last_beat >= app.keepalive_s:
            _emit(out_fh, b": keep-alive\n\n")
            last_beat = now
        app.stopping.wait(app.poll_s)


def _emit(wfile: BufferedIOBase, data: bytes) -> None:
    wfile.write(data)
    wfile.flush()


def _end(wfile: BufferedIOBase, status: str, reason: str, line: int) -> None:
    data = json.dumps({"status": status, "reason": reason, "next": line})
    _emit(wfile, f"event: end\ndata: {data}\n\n".encode())
