"""The browser viewer (`sciswarm serve`): API over real HTTP on loopback, SSE tailing, file confinement, Chromium."""

from __future__ import annotations

import json
import os
import shutil
import socket
import struct
import threading
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sciswarm.view.render import summarize
from sciswarm.view.web import ViewerServer, safe_path

CHROMIUM = "/usr/bin/chromium"
T0 = 1_790_000_000.0


def png(width: int = 64, height: int = 40) -> bytes:
    """A real PNG (a gradient), made with the stdlib only."""
    pixel = [bytes((x * 4 % 256, y * 6 % 256, 160)) for y in range(height) for x in range(width)]
    rows = b"".join(b"\x00" + b"".join(pixel[y * width : (y + 1) * width]) for y in range(height))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    head = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", head) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def rec(kind: str, i: int, idea: str = "swarm", sender: str = "swarm", **fields: Any) -> dict[str, Any]:
    return {"kind": kind, "run_id": "", "idea_id": idea, "sender": sender, "ts": T0 + i, **fields}


SCORES = {
    "Summary": "A small study.",
    "Strengths": ["clear"],
    "Weaknesses": ["tiny"],
    "Originality": 2,
    "Quality": 3,
    "Clarity": 3,
    "Significance": 2,
    "Soundness": 3,
    "Presentation": 3,
    "Contribution": 2,
    "Overall": 6,
    "Confidence": 4,
    "Decision": "Accept",
}


def records(run_id: str, final: str | None = "completed") -> list[dict[str, Any]]:
    idea = "label_smoothing"
    out = [
        rec("run_status", 0, status="running", reason="started", summary="run running: started"),
        rec("log", 1, level="warning", text="model 'default' is SCRIPTED"),  # no summary: the server adds one
        rec("start", 2, template="mlp", goal="sample efficiency", id="s1"),
        rec("model_call", 3, sender="ideator", model="scripted", stage="idea", prompt_tokens=100, completion_tokens=20),
        rec(
            "idea",
            4,
            idea,
            "ideator",
            name=idea,
            title="Label Smoothing for Small MLPs",
            experiment="add smoothing",
            interestingness=5,
            feasibility=9,
            novelty=3,
        ),
        rec("novelty", 5, idea, "novelty_critic", verdict="novel", reason="nothing close"),
        rec(
            "sandbox_exec", 6, idea, "experimenter", provider="local", command=["python", "experiment.py"], exit_code=0
        ),
        rec("output", 7, idea, "experimenter", stream="stdout", line="epoch 1 loss 0.42"),
        rec("figures", 8, idea, "experimenter", files=["train_loss.png"], descriptions={"train_loss.png": "loss"}),
        rec("paper", 9, idea, "writer", pdf=f"ideas/{idea}/paper/paper_rev0.pdf", pages=2, citations=3),
        rec("meta_review", 10, idea, "reviewer", review=SCORES, n_reviews=3),
    ]
    if final:
        out.append(rec("run_status", 11, status=final, reason="done"))
    for r in out:
        r["run_id"] = run_id
    return out


def make_run(
    runs: Path, run_id: str, *, status: str = "completed", started: float = T0, final: str | None = "completed"
) -> Path:
    run_dir = runs / run_id
    ws = run_dir / "ideas/label_smoothing/workspace"
    ws.mkdir(parents=True)
    (ws / "train_loss.png").write_bytes(png())
    (run_dir / "ideas/label_smoothing/paper").mkdir()
    (run_dir / "ideas/label_smoothing/paper/paper_rev0.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    (run_dir / "ideas/label_smoothing/reviews.json").write_text(json.dumps({"meta_review": SCORES}))
    meta = {
        "run_id": run_id,
        "name": f"demo {run_id}",
        "status": status,
        "reason": "done" if status != "running" else "",
        "pid": os.getpid(),
        "started_at": started,
        "messages": 6,
        "totals": {"total": {"tokens": 120, "cost_usd": 0.25, "calls": 1}},
    }
    (run_dir / "run.json").write_text(json.dumps(meta))
    lines = [json.dumps(r) for r in records(run_id, final)]
    (run_dir / "transcript.jsonl").write_text("\n".join(lines) + "\n")
    return run_dir


def append(run_dir: Path, *items: dict[str, Any]) -> None:
    with (run_dir / "transcript.jsonl").open("a") as fh:
        for item in items:
            fh.write(json.dumps(item) + "\n")
            fh.flush()


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes, dict[str, str]]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, resp.read(), dict(resp.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)


def get_json(url: str) -> Any:
    code, body, _ = get(url)
    assert code == 200, (url, code, body)
    return json.loads(body)


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    d = tmp_path / "runs"
    d.mkdir()
    return d


@pytest.fixture
def server(runs: Path) -> Iterator[ViewerServer]:
    with ViewerServer(runs, port=0, poll_s=0.05, keepalive_s=0.3) as srv:
        yield srv


# ---- plain API -------------------------------------------------------------------------------------------


def test_binds_loopback_and_serves_the_app(server: ViewerServer) -> None:
    assert server.url.startswith("http://127.0.0.1:") and server.port > 0
    code, body, headers = get(server.url)
    assert code == 200 and b"sciswarm" in body and headers["Content-Type"].startswith("text/html")
    assert "script-src" in headers["Content-Security-Policy"]


def test_list_runs_newest_first_with_totals(server: ViewerServer, runs: Path) -> None:
    make_run(runs, "20260101-000000-old", started=T0)
    make_run(runs, "20260102-000000-new", started=T0 + 100)
    (runs / "not-a-run").mkdir()  # no run.json, no transcript: ignored
    listed = get_json(server.url + "api/runs")
    assert [r["id"] for r in listed] == ["20260102-000000-new", "20260101-000000-old"]
    first = listed[0]
    assert first["name"] == "demo 20260102-000000-new" and first["status"] == "completed"
    assert (first["tokens"], first["cost"], first["messages"]) == (120, 0.25, 6)
    assert first["started_at"] == T0 + 100


def test_running_run_counts_live_from_the_transcript(server: ViewerServer, runs: Path) -> None:
    make_run(runs, "live", status="running", final=None)
    (entry,) = get_json(server.url + "api/runs")
    # run.json is stale while running; the transcript says 6 messages, 1 model call of 120 tokens
    assert (entry["status"], entry["messages"], entry["tokens"], entry["stale"]) == ("running", 6, 120, False)


def test_a_broken_run_json_does_not_break_the_list(server: ViewerServer, runs: Path) -> None:
    make_run(runs, "good")
    (make_run(runs, "torn") / "run.json").write_text('{"status": "runn')  # crashed mid-write
    (make_run(runs, "odd") / "run.json").write_text('{"status": "completed", "totals": {"total": "?"}}')
    listed = {r["id"]: r for r in get_json(server.url + "api/runs")}
    assert set(listed) == {"good", "torn", "odd"}
    assert (listed["odd"]["status"], listed["odd"]["tokens"]) == ("completed", 0)
    assert listed["torn"]["status"] == "completed"  # from the transcript's final run_status
    assert listed["torn"]["messages"] == 6


def test_run_meta_and_unknown_ids(server: ViewerServer, runs: Path) -> None:
    run_dir = make_run(runs, "r1")
    assert get_json(server.url + "api/runs/r1") == json.loads((run_dir / "run.json").read_text())
    for bad in ["nope", "%2e%2e", "..", "r1%2F..", "%2Fetc", ".hidden"]:
        code, _, _ = get(server.url + f"api/runs/{bad}")
        assert code == 404, bad


def test_events_after_n_with_summaries(server: ViewerServer, runs: Path) -> None:
    make_run(runs, "r1")
    every = get_json(server.url + "api/runs/r1/events")
    originals = records("r1")
    assert every["next"] == len(originals) and not every["more"]
    assert [e["_seq"] for e in every["events"]] == list(range(len(originals)))
    for got, original in zip(every["events"], originals, strict=True):
        assert got["kind"] == original["kind"]
        assert got["summary"] == summarize(original)  # computed server-side where the record has none
    assert every["events"][1]["summary"] == "model 'default' is SCRIPTED"

    tail = get_json(server.url + "api/runs/r1/events?after=9")
    assert [e["_seq"] for e in tail["events"]] == [9, 10, 11]
    assert [e["kind"] for e in tail["events"]] == ["paper", "meta_review", "run_status"]
    page = get_json(server.url + "api/runs/r1/events?after=2&limit=3")
    assert [e["_seq"] for e in page["events"]] == [2, 3, 4] and page["next"] == 5 and page["more"]
    assert get_json(server.url + "api/runs/r1/events?after=999")["events"] == []


def test_events_skip_a_torn_line_until_it_is_complete(server: ViewerServer, runs: Path) -> None:
    run_dir = make_run(runs, "r1", status="running", final=None)
    n = len(records("r1", None))
    line = json.dumps(rec("note", 50, text="hello there", run_id="r1"))
    with (run_dir / "transcript.jsonl").open("a") as fh:
        fh.write(line[:20])
    assert get_json(server.url + f"api/runs/r1/events?after={n}") == {"events": [], "next": n, "more": False}
    with (run_dir / "transcript.jsonl").open("a") as fh:
        fh.write(line[20:] + "\n" + "{not json\n")
    got = get_json(server.url + f"api/runs/r1/events?after={n}")
    assert [e["summary"] for e in got["events"]] == ["hello there"] and got["next"] == n + 2


def test_artifact_links_in_events(server: ViewerServer, runs: Path) -> None:
    make_run(runs, "r1")
    events = {e["kind"]: e for e in get_json(server.url + "api/runs/r1/events")["events"]}
    (fig,) = events["figures"]["_artifacts"]
    assert fig == {
        "path": "ideas/label_smoothing/workspace/train_loss.png",
        "label": "train_loss.png",
        "type": "image",
        "caption": "loss",
    }
    assert events["paper"]["_artifacts"][0]["path"] == "ideas/label_smoothing/paper/paper_rev0.pdf"
    assert events["meta_review"]["_artifacts"][0]["path"] == "ideas/label_smoothing/reviews.json"


# ---- files -----------------------------------------------------------------------------------------------


def test_serves_artifacts_with_types(server: ViewerServer, runs: Path) -> None:
    make_run(runs, "r1")
    base = server.url + "api/runs/r1/files/"
    code, body, headers = get(base + "ideas/label_smoothing/workspace/train_loss.png")
    assert code == 200 and body == png() and headers["Content-Type"] == "image/png"
    assert headers["X-Content-Type-Options"] == "nosniff" and "sandbox" in headers["Content-Security-Policy"]
    code, body, headers = get(base + "ideas/label_smoothing/paper/paper_rev0.pdf")
    assert code == 200 and body.startswith(b"%PDF") and headers["Content-Type"] == "application/pdf"
    code, body, _ = get(base + "ideas/label_smoothing/reviews.json")
    assert code == 200 and json.loads(body)["meta_review"]["Decision"] == "Accept"
    code, body, _ = get(base + "ideas%2Flabel_smoothing%2Fworkspace%2Ftrain_loss.png")  # encoded slashes are fine
    assert code == 200 and body == png()
    (runs / "r1/page.html").write_text("<script>alert(1)</script>")  # written by LLM code: never rendered
    code, _, headers = get(base + "page.html")
    assert code == 200 and headers["Content-Type"] == "application/octet-stream"
    assert headers["Content-Disposition"].startswith("attachment")
    assert get(base + "ideas/missing.png")[0] == 404
    assert get(base + "ideas")[0] == 404  # a folder is not a file


def test_file_traversal_is_rejected(server: ViewerServer, runs: Path, tmp_path: Path) -> None:
    make_run(runs, "a")
    make_run(runs, "b")
    (tmp_path / "secret.txt").write_text("top secret")
    (runs / "a/escape.txt").symlink_to(tmp_path / "secret.txt")
    (runs / "a/other").symlink_to(runs / "b")
    (runs / "a/inside.png").symlink_to(runs / "a/ideas/label_smoothing/workspace/train_loss.png")
    base = server.url + "api/runs/a/files/"
    attempts = [
        "../b/run.json",
        "..%2fb%2frun.json",
        "%2e%2e/b/run.json",
        "%2E%2E%2Fb%2Frun.json",
        "ideas/../../b/run.json",
        "ideas/%2e%2e/%2e%2e/b/run.json",
        "/etc/passwd",
        "%2Fetc%2Fpasswd",
        "..%5c..%5cb%5crun.json",
        "escape.txt",
        "other/run.json",
        "ideas%00.png",
        "../../secret.txt",
    ]
    for attempt in attempts:
        code, body, _ = get(base + attempt)
        assert code == 403, (attempt, code)
        assert b"top secret" not in body and b'"name": "demo b"' not in body
    assert get(server.url + "api/runs/%2e%2e/files/runs/a/run.json")[0] == 404
    assert get(server.url + "api/runs/a/files/inside.png")[1] == png()  # a symlink that stays inside is fine
    assert get(base + "run.json")[0] == 200

    assert safe_path(runs / "a", "ideas/x.png") == (runs / "a/ideas/x.png").resolve()
    for rel in ["", "/abs", "..", "a/../../b", "a\\..\\b", "escape.txt", "./../b"]:
        assert safe_path(runs / "a", rel) is None, rel


def test_foreign_host_header_is_refused(server: ViewerServer, runs: Path) -> None:
    make_run(runs, "r1")
    assert get(server.url + "api/runs", {"Host": "evil.example:8765"})[0] == 403
    assert get(server.url + "api/runs", {"Host": f"localhost:{server.port}"})[0] == 200


# ---- Server-Sent Events ----------------------------------------------------------------------------------


class SSE:
    """A minimal SSE client over a raw socket: yields (event, id, data) and keep-alive comments."""

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        self.resp = urllib.request.urlopen(url, timeout=timeout)
        assert self.resp.headers["Content-Type"].startswith("text/event-stream")

    def next(self) -> dict[str, str] | None:
        event: dict[str, str] = {}
        while True:
            raw = self.resp.readline()
            if not raw:
                return None  # server closed the stream
            line = raw.decode().rstrip("\n")
            if line == "":
                if event:
                    return event
                continue
            if line.startswith(":"):
                return {"comment": line[1:].strip()}
            key, _, value = line.partition(":")
            event[key] = event.get(key, "") + value.removeprefix(" ")

    def close(self) -> None:
        self.resp.close()


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
    (run_dir / "run.json").write_text(json.dumps({**meta, "pid": _dead_pid()}))
    _, body, _ = get(server.url + "api/runs/r1/stream?after=999")
    assert b"event: end" in body and b'"status": "unknown"' in body
    (entry,) = get_json(server.url + "api/runs")
    assert entry["stale"] is True


def _dead_pid() -> int:
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


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


# ---- the page in a real browser --------------------------------------------------------------------------


@pytest.mark.browser
def test_viewer_in_chromium_updates_live(runs: Path, tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")

    live = make_run(runs, "20260101-000000-live", status="running", started=T0, final=None)
    make_run(runs, "20260102-000000-done", started=T0 + 100)
    with ViewerServer(runs, poll_s=0.05) as srv, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(srv.url)
            expect = sync_api.expect
            expect(page.locator(".run")).to_have_count(2)
            page.locator('.run[data-run="20260101-000000-live"]').click()
            expect(page.locator("#run-name")).to_have_text("demo 20260101-000000-live")
            rows = page.locator("#log .row")
            expect(rows).to_have_count(len(records("x", None)))
            expect(page.locator("#log")).to_contain_text("Label Smoothing for Small MLPs")
            expect(page.locator("#run-status")).to_have_text("running")
            expect(page.locator("#st-messages")).to_have_text("6")
            expect(page.locator(".row.k-meta_review .chip.accept")).to_have_text("Overall 6/10 · Accept")
            expect(page.locator(".row.k-paper a.chip.pdf")).to_have_attribute(
                "href", "/api/runs/20260101-000000-live/files/ideas/label_smoothing/paper/paper_rev0.pdf"
            )
            thumb = page.locator(".row.k-figures .thumb img")
            expect(thumb).to_have_count(1)
            expect(thumb).to_have_js_property("naturalWidth", 64)  # polled by the driver: no eval under the CSP

            page.evaluate("window.__marker = 'no reload'")
            append(live, rec("note", 60, "label_smoothing", "writer", text="a live note from the writer"))
            expect(page.locator("#log")).to_contain_text("a live note from the writer")
            expect(page.locator("#st-messages")).to_have_text("7")
            assert page.evaluate("window.__marker") == "no reload"

            page.locator("#show-traces").uncheck()
            expect(page.locator(".row.k-model_call")).to_be_hidden()
            expect(page.locator(".row.k-idea")).to_be_visible()
            page.locator("#show-traces").check()
            expect(page.locator(".row.k-output")).to_be_visible()

            append(live, rec("run_status", 61, status="completed", reason="the bus is idle"))
            expect(page.locator("#run-status")).to_have_text("completed")
            expect(page.locator("#live")).to_have_text("finished")
            shot = tmp_path / "viewer.png"
            page.screenshot(path=str(shot), full_page=False)
            assert shot.stat().st_size > 10_000
        finally:
            browser.close()
