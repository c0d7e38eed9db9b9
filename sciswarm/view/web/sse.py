"""The live stream: Server-Sent Events (sse-starlette) tailing a run's transcript.jsonl until the run ends.

Each record's event id is the line number after it, so an EventSource reconnecting with Last-Event-ID resumes
where it left off. With `board=1` the stream also carries `board` events: the board's cards that changed
(all of them first), the slots and the totals. The stream ends with an `end` event (status, reason, next
line), then the response closes. Keep-alive comments go out every `keepalive_s`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
from sse_starlette import EventSourceResponse, ServerSentEvent

from sciswarm.view.follow import Follower
from sciswarm.view.web.runs import RunsFolder, pid_alive, read_json
from sciswarm.view.web.transcript import FINAL, prepare

SEP = "\n"
RETRY_MS = 2000


@dataclass
class Live:
    """What every stream shares: the runs, how often to look, and the server's stop flag."""

    runs: RunsFolder
    poll_s: float
    keepalive_s: float
    stopping: threading.Event


def _event(data: str, *, event: str | None = None, id: str | None = None) -> bytes:
    return ServerSentEvent(data, event=event, id=id, sep=SEP).encode()


def _end(status: str, reason: str, line: int) -> bytes:
    return _event(json.dumps({"status": status, "reason": reason, "next": line}), event="end")


def stream_response(live: Live, run_id: str, run_dir: Path, after: int, *, board: bool) -> EventSourceResponse:
    return EventSourceResponse(
        _records(live, run_id, run_dir, after, board),
        sep=SEP,
        ping=live.keepalive_s,
        ping_message_factory=lambda: ServerSentEvent(comment="keep-alive", sep=SEP),
        headers={"Cache-Control": "no-store"},
    )


async def _records(live: Live, run_id: str, run_dir: Path, after: int, board: bool) -> AsyncIterator[bytes]:
    yield ServerSentEvent(retry=RETRY_MS, sep=SEP).encode()
    path = run_dir / "transcript.jsonl"
    if path.is_file():
        offset, line = await anyio.to_thread.run_sync(live.runs.index(run_id).locate, after)
    else:
        offset, line = 0, 0
    follower = Follower(path, offset=offset, line=line)
    sent: dict[str, int] = {}
    generation = [0]

    async def board_update() -> bytes:
        if not board:
            return b""
        state = await anyio.to_thread.run_sync(live.runs.state, run_id)
        changes = await anyio.to_thread.run_sync(state.changes, sent, generation[0])
        if changes is None:
            return b""
        generation[0] = changes["generation"]
        return _event(json.dumps(changes, ensure_ascii=False, default=str), event="board")

    first = await board_update()
    if first:
        yield first
    closing = False  # run.json says final: one more read, then end
    while not live.stopping.is_set():
        batch = await anyio.to_thread.run_sync(follower.read)
        if batch or follower.line != line:
            line = follower.line
            out: list[bytes] = []
            final: dict[str, Any] | None = None
            for seq, rec in batch:
                data = json.dumps(prepare(rec, seq, run_dir), ensure_ascii=False, default=str)
                out.append(_event(data, id=str(seq + 1)))
                if rec.get("kind") == "run_status" and rec.get("status") in FINAL:
                    final = rec
            out.append(await board_update())
            if any(out):
                yield b"".join(out)
            if final is not None:
                yield _end(str(final["status"]), str(final.get("reason") or ""), line)
                return
            continue
        meta = read_json(run_dir / "run.json") or {}
        if closing:
            yield _end(str(meta.get("status")), str(meta.get("reason") or ""), line)
            return
        status = meta.get("status")
        if status in FINAL:
            closing = True
            continue
        if status == "running" and not pid_alive(meta.get("pid")):
            yield _end("unknown", "the run's process is gone without a final status", line)
            return
        update = await board_update()  # files the board reads (a baseline) may have appeared
        if update:
            yield update
        await anyio.sleep(live.poll_s)
