"""The viewer's access token: required beyond loopback, on every endpoint, by header, query or cookie.

Servers bound to 0.0.0.0 are reached through 127.0.0.1 only; no traffic leaves loopback.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_web import CHROMIUM, T0, append, get, make_run, png, rec, records

from sciswarm.view.web import ViewerServer, is_loopback

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
}
LEAKS = [b"label_smoothing", b"demo r1", b"\x89PNG", b"sciswarm</", b"run_status"]


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    d = tmp_path / "runs"
    d.mkdir()
    make_run(d, "r1")
    return d


@pytest.fixture
def guarded(runs: Path) -> Iterator[ViewerServer]:
    with ViewerServer(runs, host="0.0.0.0", port=0, token=TOKEN, poll_s=0.05, keepalive_s=0.3) as srv:
        yield srv


def local(srv: ViewerServer) -> str:
    """The server's root URL through loopback, whatever it is bound to."""
    return f"http://127.0.0.1:{srv.port}/"


def head(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes, dict[str, str]]:
    req = urllib.request.Request(url, headers=headers or {}, method="HEAD")
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, resp.read(), dict(resp.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)


def assert_ok(name: str, code: int, body: bytes) -> None:
    assert code == (204 if name == "favicon" else 200), (name, code, body[:200])
    if name == "file":
        assert body == png()
    elif name == "stream":
        assert b"event: end" in body and body.count(b"\ndata: ") == len(records("r1")) + 1
    elif name == "page":
        assert b"sciswarm" in body


def assert_refused(what: str, code: int, body: bytes, headers: dict[str, str]) -> None:
    assert code == 401, (what, code)
    assert headers["WWW-Authenticate"] == "Bearer", what
    assert headers["Content-Type"].startswith("text/plain"), what
    assert "Set-Cookie" not in headers, what
    assert not any(leak in body for leak in LEAKS), (what, body)


# ---- refused ---------------------------------------------------------------------------------------------


def test_every_endpoint_refuses_a_missing_or_wrong_token(guarded: ViewerServer) -> None:
    cookie = f"sciswarm_token_{guarded.port}"
    wrong: list[tuple[str, dict[str, str]]] = [
        ("", {}),
        ("?token=wrong", {}),
        (f"?token={TOKEN[:-1]}", {}),
        (f"?token={TOKEN}x", {}),
        ("?token=", {}),
        ("", {"Authorization": "Bearer wrong"}),
        ("", {"Authorization": f"Basic {TOKEN}"}),
        ("", {"Authorization": "Bearer"}),
        ("", {"Cookie": f"{cookie}=wrong"}),
        ("", {"Cookie": f"sciswarm_token_1={TOKEN}"}),  # another port's cookie name
        ("", {"X-Token": TOKEN}),
    ]
    for name, path in ENDPOINTS.items():
        for query, headers in wrong:
            code, body, got = get(local(guarded) + path + query, headers)
            assert_refused(f"{name} {query} {headers}", code, body, got)
            assert body.startswith(b"401 unauthorized")


def test_head_requests_are_refused_too(guarded: ViewerServer) -> None:
    for name, path in ENDPOINTS.items():
        code, body, headers = head(local(guarded) + path)
        assert code == 401 and body == b"" and headers["WWW-Authenticate"] == "Bearer", name
        code, body, _ = head(local(guarded) + path, {"Authorization": f"Bearer {TOKEN}"})
        assert code in {200, 204} and body == b"", name


def test_refused_before_anything_else_is_looked_at(guarded: ViewerServer) -> None:
    """No 404 or 403 tells an outsider which runs or files exist."""
    for path in ["api/runs/nope", "api/runs/r1/files/../../etc/passwd", "api/runs/r1/files/missing.png", "nope"]:
        code, body, headers = get(local(guarded) + path)
        assert_refused(path, code, body, headers)


# ---- accepted --------------------------------------------------------------------------------------------


def test_bearer_header_opens_every_endpoint(guarded: ViewerServer) -> None:
    for name, path in ENDPOINTS.items():
        code, body, _ = get(local(guarded) + path, {"Authorization": f"Bearer {TOKEN}"})
        assert_ok(name, code, body)
    code, _, _ = get(local(guarded) + "api/runs", {"Authorization": f"bearer   {TOKEN}"})
    assert code == 200  # the scheme is case-insensitive


def test_query_token_opens_every_endpoint(guarded: ViewerServer) -> None:
    for name, path in ENDPOINTS.items():
        code, body, _ = get(local(guarded) + path + f"?token={TOKEN}")
        assert_ok(name, code, body)
    code, body, _ = get(local(guarded) + f"api/runs/r1/events?after=9&token={TOKEN}&limit=1")
    assert code == 200 and b'"_seq": 9' in body and b'"_seq": 10' not in body  # other parameters still work


def test_page_load_with_the_token_sets_a_cookie_that_opens_everything(guarded: ViewerServer) -> None:
    code, _, headers = get(local(guarded) + f"?token={TOKEN}")
    assert code == 200
    cookie = headers["Set-Cookie"]
    attrs = [a.strip() for a in cookie.split(";")]
    assert attrs[0] == f"sciswarm_token_{guarded.port}={TOKEN}"
    assert {"HttpOnly", "SameSite=Strict", "Path=/"} <= set(attrs[1:])
    assert headers["Referrer-Policy"] == "no-referrer"  # the ?token= URL is not sent on
    for name, path in ENDPOINTS.items():
        code, body, got = get(local(guarded) + path, {"Cookie": f"other=1; {attrs[0]}"})
        assert_ok(name, code, body)
        assert "Set-Cookie" not in got, name  # it has the cookie already


def test_live_stream_with_the_cookie(guarded: ViewerServer, runs: Path) -> None:
    live = make_run(runs, "live", status="running", final=None)
    n = len(records("live", None))
    req = urllib.request.Request(
        local(guarded) + f"api/runs/live/stream?after={n}", headers={"Cookie": f"sciswarm_token_{guarded.port}={TOKEN}"}
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        assert resp.readline() == b"retry: 2000\n"
        append(live, rec("note", 50, text="after connecting", run_id="live"))
        lines = [resp.readline() for _ in range(3)]
        assert lines[1] == f"id: {n + 1}\n".encode() and b"after connecting" in lines[2]


def test_the_token_never_reaches_the_log(runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with ViewerServer(runs, host="0.0.0.0", token=TOKEN, verbose=True) as srv:
        assert get(local(srv) + f"api/runs?token={TOKEN}")[0] == 200
        assert get(local(srv) + f"api/runs?after=1&token={TOKEN}x")[0] == 401
    logged = capsys.readouterr().err
    assert "GET /api/runs?token=[redacted]" in logged and "GET /api/runs?after=1&token=[redacted]" in logged
    assert TOKEN not in logged


# ---- when a token is required ----------------------------------------------------------------------------


def test_loopback_without_a_token_needs_none(runs: Path) -> None:
    with ViewerServer(runs, port=0, poll_s=0.05) as srv:
        assert srv.token is None and srv.token_url == srv.url
        for name, path in ENDPOINTS.items():
            code, body, headers = get(srv.url + path)
            assert_ok(name, code, body)
            assert "Set-Cookie" not in headers


def test_loopback_with_an_explicit_token_enforces_it(runs: Path) -> None:
    with ViewerServer(runs, port=0, token=TOKEN) as srv:
        assert srv.loopback and srv.token_url == f"{srv.url}?token={TOKEN}"
        code, body, headers = get(srv.url + "api/runs")
        assert_refused("loopback", code, body, headers)
        assert get(srv.url + "api/runs", {"Authorization": f"Bearer {TOKEN}"})[0] == 200


def test_beyond_loopback_a_token_is_made_when_none_is_given(runs: Path) -> None:
    with ViewerServer(runs, host="0.0.0.0") as one, ViewerServer(runs, host="0.0.0.0") as two:
        assert one.token and two.token and one.token != two.token and len(one.token) >= 32
        assert one.token_url == f"http://0.0.0.0:{one.port}/?token={one.token}"
        code, body, headers = get(local(one) + "api/runs")
        assert_refused("made-up token", code, body, headers)
        assert get(local(one) + f"api/runs?token={two.token}")[0] == 401
        assert get(local(one) + f"api/runs?token={one.token}")[0] == 200


def test_an_empty_token_is_refused(runs: Path) -> None:
    with pytest.raises(ValueError, match="empty"):
        ViewerServer(runs, host="0.0.0.0", token="")


def test_a_token_with_odd_characters_round_trips(runs: Path) -> None:
    odd = "a b;c=d&e+f/ü"
    with ViewerServer(runs, host="0.0.0.0", token=odd) as srv:
        url = srv.token_url.replace("0.0.0.0", "127.0.0.1")
        code, _, headers = get(url)
        assert code == 200
        pair = headers["Set-Cookie"].split(";")[0]
        assert get(local(srv) + "api/runs", {"Cookie": pair})[0] == 200
        assert get(local(srv) + "api/runs?token=a+b")[0] == 401


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("localhost", True),
        ("LocalHost", True),
        ("::ffff:127.0.0.1", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.20", False),
        ("10.0.0.1", False),
        ("::ffff:10.0.0.1", False),
        ("example.com", False),
        ("localhost.example.com", False),
        ("", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


# ---- the command line ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Serving:
    """`sciswarm serve ...` in a subprocess, its stderr read line by line on a thread."""

    def __init__(self, cwd: Path, *args: str, env: dict[str, str] | None = None) -> None:
        base = {k: v for k, v in os.environ.items() if k != "SCISWARM_VIEWER_TOKEN"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sciswarm", "serve", *args],
            cwd=cwd,
            env={**base, **(env or {})},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, pattern: str, timeout: float = 60) -> re.Match[str]:
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no {pattern!r} within {timeout}s in {self.seen}") from None
            if line is None:
                raise AssertionError(f"exited ({self.proc.wait()}) without {pattern!r}: {self.seen}")
            self.seen.append(line)
            if found := re.search(pattern, line):
                return found

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def test_cli_beyond_loopback_prints_a_token_url_and_enforces_it(runs: Path) -> None:
    port = free_port()
    serving = Serving(runs.parent, "--runs-dir", "runs", "--host", "0.0.0.0", "--port", str(port))
    try:
        found = serving.wait_for(rf"(http://0\.0\.0\.0:{port}/\?token=([A-Za-z0-9_-]+))")
        token = found.group(2)
        assert len(token) >= 32
        assert "network" in found.string  # the one-line note says who can reach it
        root = f"http://127.0.0.1:{port}/"
        code, body, headers = get(root + "api/runs")
        assert_refused("cli", code, body, headers)
        code, body, _ = get(root + f"?token={token}")
        assert code == 200 and b"sciswarm" in body
        code, body, _ = get(root + "api/runs", {"Authorization": f"Bearer {token}"})
        assert code == 200 and b'"id": "r1"' in body
    finally:
        serving.stop()
    assert all(token not in line for line in serving.seen if "http://" not in line)


def test_cli_token_from_the_environment_is_enforced_on_loopback(runs: Path) -> None:
    port = free_port()
    serving = Serving(runs.parent, "--runs-dir", "runs", "--port", str(port), env={"SCISWARM_VIEWER_TOKEN": TOKEN})
    try:
        serving.wait_for(rf"http://127\.0\.0\.1:{port}/\?token={TOKEN}")
        root = f"http://127.0.0.1:{port}/"
        assert get(root + "api/runs")[0] == 401
        assert get(root + f"api/runs?token={TOKEN}")[0] == 200
    finally:
        serving.stop()


def test_cli_error_paths_exit_2(runs: Path, tmp_path: Path) -> None:
    def serve(*args: str) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "sciswarm", "serve", *args]
        return subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=60)

    missing = serve("--runs-dir", "nowhere", "--host", "0.0.0.0")
    assert missing.returncode == 2 and "no runs folder" in missing.stderr
    empty = serve("--runs-dir", str(runs), "--host", "0.0.0.0", "--token", "")
    assert empty.returncode == 2 and "must not be empty" in empty.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = serve("--runs-dir", str(runs), "--port", str(taken.getsockname()[1]))
    assert busy.returncode == 2 and "cannot listen" in busy.stderr


# ---- the page in a real browser, opened with ?token= -----------------------------------------------------


@pytest.mark.browser
def test_viewer_in_chromium_works_from_the_token_url(runs: Path) -> None:
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")

    live = make_run(runs, "20260101-000000-live", status="running", started=T0 + 200, final=None)
    with ViewerServer(runs, host="0.0.0.0", poll_s=0.05) as srv, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            expect = sync_api.expect
            stranger = browser.new_page()
            response = stranger.goto(local(srv))
            assert response is not None and response.status == 401
            assert "label_smoothing" not in stranger.content()

            context = browser.new_context()  # its own cookie jar
            page = context.new_page()
            page.goto(local(srv) + f"?token={srv.token}#20260101-000000-live")
            expect(page.locator(".run")).to_have_count(2)  # fetch() with the cookie
            expect(page.locator("#run-name")).to_have_text("demo 20260101-000000-live")
            expect(page.locator("#log .row")).to_have_count(len(records("x", None)))
            expect(page.locator(".row.k-figures .thumb img")).to_have_js_property("naturalWidth", 64)
            append(live, rec("note", 60, "label_smoothing", "writer", text="a live note through the cookie"))
            expect(page.locator("#log")).to_contain_text("a live note through the cookie")  # EventSource
            assert page.evaluate("document.cookie") == ""  # HttpOnly: the page's scripts cannot read it

            again = context.new_page()  # the same cookie jar, no ?token=
            response = again.goto(local(srv))
            assert response is not None and response.status == 200
            expect(again.locator(".run")).to_have_count(2)
        finally:
            browser.close()
