"""When a token is required, what counts as loopback, and the `sciswarm serve` command line."""

from __future__ import annotations

import os
import queue
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from auth_support import ENDPOINTS, TOKEN, assert_ok, assert_refused, local
from web_support import free_port, get, make_run

from sciswarm.view.web import ViewerServer, is_loopback


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    d = tmp_path / "runs"
    d.mkdir()
    make_run(d, "r1")
    return d


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
