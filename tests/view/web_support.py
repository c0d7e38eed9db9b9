"""Helpers for the viewer's tests: a run folder in the real transcript format, HTTP and SSE clients, Chromium."""

from __future__ import annotations

import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

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


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes, Message]:
    """(status, body, headers); the headers are case-insensitive, as HTTP's are."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, resp.read(), resp.headers
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), exc.headers


def get_json(url: str) -> Any:
    code, body, _ = get(url)
    assert code == 200, (url, code, body)
    return json.loads(body)


def head(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes, Message]:
    req = urllib.request.Request(url, headers=headers or {}, method="HEAD")
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, resp.read(), resp.headers
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), exc.headers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


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


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium (Debian's) driven by Playwright; skips when either is missing."""
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            yield browser
        finally:
            browser.close()


def expect(target: Any) -> Any:
    """Playwright's expect (imported late: the module loads without playwright)."""
    from playwright.sync_api import expect as expect_

    return expect_(target)
