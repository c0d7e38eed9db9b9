"""The live stream (Server-Sent Events): tailing, keep-alives, Last-Event-ID resume, the end of a run, the
board's changes riding along."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from pipeline import new_run, stage
from web_support import SSE, append, dead_pid, get, get_json, make_run, rec, records

from sciswarm.view.web import ViewerServer


def test_stream_tails_appended_lines_and_ends_on_final_status(server: ViewerServer, runs: Path) -> None:
    run_dir = make_run(runs, "r1", status="running", final=None)
    n = len(records("r1", None))
    sse = SSE(server.url + f"api/runs/r1/stream?after={n - 1}")
    try:
        assert sse.next() == {"retry": "2000"}
        first = sse.next()
        assert first is not None and first["id"] == str(n)
        assert json.loads(first["data"])["kind"] == "meta_review"  # the backlog after N

        line = json.dumps(rec("note", 40, "label_smoothing", "writer", text="appended after connecting"))
        with (run_dir / "transcript.jsonl").open("a") as fh:  # a line written in two pieces
            fh.write(line[:15])
            fh.flush()
            time.sleep(0.2)
            fh.write(line[15:] + "\n")
        got = sse.next()
        while got is not None and "comment" in got:
            got = sse.next()
        assert got is not None and got["id"] == str(n + 1)
        data = json.loads(got["data"])
        assert data["summary"] == "appended after connecting" and data["_seq"] == n

        append(run_dir, rec("run_status", 41, status="stopped", reason="budget"))
        seen = []
        while (got := sse.next()) is not None:
            seen.append(got)
        events = [e for e in seen if "comment" not in e]
        assert json.loads(events[0]["data"])["status"] == "stopped"
        assert events[-1]["event"] == "end" and json.loads(events[-1]["data"])["status"] == "stopped"
    finally:
        sse.close()


def test_stream_sends_keepalives_and_resumes_from_last_event_id(server: ViewerServer, runs: Path) -> None:
    make_run(runs, "r1", status="running", final=None)
    n = len(records("r1", None))
    sse = SSE(server.url + f"api/runs/r1/stream?after={n}")
    try:
        assert sse.next() == {"retry": "2000"}
        assert sse.next() == {"comment": "keep-alive"}  # nothing new for keepalive_s
    finally:
        sse.close()
    req = urllib.request.Request(server.url + "api/runs/r1/stream?after=0", headers={"Last-Event-ID": str(n - 1)})
    with urllib.request.urlopen(req, timeout=5) as resp:
        resp.readline(), resp.readline()  # retry
        assert resp.readline() == f"id: {n}\n".encode()


def test_stream_of_a_finished_run_ends_at_once(server: ViewerServer, runs: Path) -> None:
    make_run(runs, "r1")
    started = time.monotonic()
    code, body, _ = get(server.url + f"api/runs/r1/stream?after={len(records('r1'))}")
    assert code == 200 and body.rstrip().endswith(b'"next": 12}') and b"event: end" in body
    code, body, _ = get(server.url + "api/runs/r1/stream")  # from the start: everything, then the end
    assert body.count(b"\ndata: ") == len(records("r1")) + 1
    assert time.monotonic() - started < 3


def test_stream_ends_when_the_process_is_gone(server: ViewerServer, runs: Path) -> None:
    run_dir = make_run(runs, "r1", status="running", final=None)
    meta = json.loads((run_dir / "run.json").read_text())
    (run_dir / "run.json").write_text(json.dumps({**meta, "pid": dead_pid()}))
    _, body, _ = get(server.url + "api/runs/r1/stream?after=999")
    assert b"event: end" in body and b'"status": "unknown"' in body
    (entry,) = get_json(server.url + "api/runs")
    assert entry["stale"] is True


def test_close_ends_open_streams(runs: Path) -> None:
    make_run(runs, "r1", status="running", final=None)
    srv = ViewerServer(runs, poll_s=0.05).start()
    sse = SSE(srv.url + "api/runs/r1/stream?after=999")
    assert sse.next() == {"retry": "2000"}
    done = threading.Event()

    def drain() -> None:
        while sse.next() is not None:
            pass
        done.set()

    threading.Thread(target=drain, daemon=True).start()
    started = time.monotonic()
    srv.close()
    assert done.wait(3) and time.monotonic() - started < 3
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", srv.port), timeout=1):
        pass


def events_until(sse: SSE, predicate: object, limit: int = 50) -> list[dict[str, str]]:
    seen: list[dict[str, str]] = []
    while len(seen) < limit and (got := sse.next()) is not None:
        if "comment" in got:
            continue
        seen.append(got)
        if callable(predicate) and predicate(got):
            return seen
    raise AssertionError(f"not seen: {seen}")


def test_board_events_send_the_cards_that_changed(server: ViewerServer, runs: Path) -> None:
    run_dir = new_run(runs, "b1", pid=os.getpid())
    append(run_dir, *stage(run_dir, "a", "idea"), *stage(run_dir, "b", "idea"))
    sse = SSE(server.url + "api/runs/b1/stream?after=0&board=1")
    try:
        first = events_until(sse, lambda e: e.get("event") == "board")[-1]
        full = json.loads(first["data"])
        assert full["full"] and {c["id"] for c in full["ideas"]} == {"a", "b"}
        assert full["slots"] == {"in_flight": 0, "limit": 2, "busy": 0, "free": 2, "queued": 0}
        assert full["totals"]["messages"] == 2
        append(run_dir, *stage(run_dir, "a", "novelty"))
        update = json.loads(events_until(sse, lambda e: e.get("event") == "board")[-1]["data"])
        assert not update["full"] and [c["id"] for c in update["ideas"]] == ["a"]  # b did not change
        assert update["ideas"][0]["stage"] == "novelty" and update["ideas"][0]["novelty"] == "novel"
        assert update["totals"]["messages"] == 3
    finally:
        sse.close()
    plain = SSE(server.url + "api/runs/b1/stream?after=0")  # without board=1: records only
    try:
        seen = events_until(plain, lambda e: e.get("id") == "8")
        assert all("event" not in e or e["event"] != "board" for e in seen)
    finally:
        plain.close()


def test_board_endpoint_matches_the_stream(server: ViewerServer, runs: Path) -> None:
    run_dir = new_run(runs, "b1", pid=os.getpid())
    append(run_dir, *stage(run_dir, "a", "idea"), *stage(run_dir, "a", "novelty"), *stage(run_dir, "a", "experiments"))
    board = get_json(server.url + "api/runs/b1/board")
    (card,) = board["ideas"]
    assert (card["stage"], card["runs_done"], card["runs_failed"]) == ("experiments", 2, 1)
    assert card["best"]["baseline"] == 0.5 and card["best"]["value"] == 0.62  # run_0 read from the idea folder
    assert board["line"] == len((run_dir / "transcript.jsonl").read_text().splitlines())
    assert board["totals"]["calls"] == 2 and board["stages"][0] == "idea"


def test_a_new_server_resumes_where_the_last_event_id_says(runs: Path) -> None:
    """The browser's EventSource reconnects with Last-Event-ID, e.g. after the viewer was restarted."""
    run_dir = make_run(runs, "r1", status="running", final=None)
    n = len(records("r1", None))
    with ViewerServer(runs, poll_s=0.05) as srv:
        port = srv.port
        sse = SSE(srv.url + "api/runs/r1/stream?after=0")
        got = events_until(sse, lambda e: e.get("id") == str(n))
        sse.close()
    assert [e["id"] for e in got if "id" in e] == [str(i) for i in range(1, n + 1)]
    append(run_dir, rec("note", 70, text="while the viewer was down", run_id="r1"))
    with ViewerServer(runs, port=port, poll_s=0.05) as again:
        req = urllib.request.Request(again.url + "api/runs/r1/stream?after=0", headers={"Last-Event-ID": str(n)})
        with urllib.request.urlopen(req, timeout=5) as resp:
            lines = [resp.readline() for _ in range(5)]
        assert lines[2] == f"id: {n + 1}\n".encode() and b"while the viewer was down" in lines[3]
