"""What the token tests share: the token, every endpoint, what a refusal must not leak."""

from __future__ import annotations

from email.message import Message

from web_support import png, records

from sciswarm.view.web import ViewerServer

TOKEN = "s3cret-Token_for-the-tests"
FIGURE = "api/runs/r1/files/ideas/label_smoothing/workspace/train_loss.png"
ENDPOINTS = {
    "page": "",
    "runs": "api/runs",
    "run": "api/runs/r1",
    "events": "api/runs/r1/events",
    "stream": "api/runs/r1/stream",  # a finished run: the whole stream, then it closes
    "file": FIGURE,
    "favicon": "favicon.ico",
    "asset": "static/js/app.js",  # the page's own scripts too
    "board": "api/runs/r1/board",
    "idea": "api/runs/r1/ideas/label_smoothing",
}
LEAKS = [b"label_smoothing", b"demo r1", b"\x89PNG", b"sciswarm</", b"run_status"]


def local(srv: ViewerServer) -> str:
    """The server's root URL through loopback, whatever it is bound to."""
    return f"http://127.0.0.1:{srv.port}/"


def assert_ok(name: str, code: int, body: bytes) -> None:
    assert code == (204 if name == "favicon" else 200), (name, code, body[:200])
    if name == "file":
        assert body == png()
    elif name == "stream":
        assert b"event: end" in body and body.count(b"\ndata: ") == len(records("r1")) + 1
    elif name == "page":
        assert b"sciswarm" in body
    elif name in {"board", "idea"}:
        assert b"label_smoothing" in body


def assert_refused(what: str, code: int, body: bytes, headers: Message) -> None:
    assert code == 401, (what, code)
    assert headers["WWW-Authenticate"] == "Bearer", what
    assert headers["Content-Type"].startswith("text/plain"), what
    assert "Set-Cookie" not in headers, what
    assert not any(leak in body for leak in LEAKS), (what, body)
