"""Running the viewer: uvicorn serving the Starlette app (`app.build_app`), in a thread or in the foreground.

A viewer announces itself in `<runs>/.viewer.json` (pid, URL; never the token) so that `sciswarm run --serve`
can tell that a viewer is already serving that runs folder and point to it instead of starting another.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn

from sciswarm import procs
from sciswarm.view.web.app import build_app
from sciswarm.view.web.auth import TokenGate, is_loopback, new_token
from sciswarm.view.web.guard import Policy
from sciswarm.view.web.runs import RunsFolder, read_json
from sciswarm.view.web.sse import Live

MARKER = ".viewer.json"
DEFAULT_PORT = 8765


def _listen(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(False)
    return sock


class ViewerServer:
    """The viewer over `runs_dir`. Port 0 picks a free port; use `.start()` for a background thread.

    `token`, when given, is required on every request. A host other than loopback always needs one: without
    `token` a random one is made (`.token`, and `.token_url` is the link to open).
    """

    def __init__(
        self,
        runs_dir: Path,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        token: str | None = None,
        poll_s: float = 0.25,
        keepalive_s: float = 15.0,
        verbose: bool = False,
        warm: bool = True,
    ) -> None:
        if token == "":
            raise ValueError("the viewer token must not be empty")
        self.runs = RunsFolder(Path(runs_dir))
        self.stopping = threading.Event()
        self.loopback = is_loopback(host)
        self.token = token if token is not None or self.loopback else new_token()
        self.host = host
        self.sock = _listen(host, port)
        self.port = int(self.sock.getsockname()[1])
        self.gate = TokenGate(self.token, self.port) if self.token else None
        live = Live(self.runs, poll_s, keepalive_s, self.stopping)
        self.app = build_app(live, Policy(self.loopback, self.gate, verbose))
        config = uvicorn.Config(
            self.app,
            log_config=None,
            access_log=False,
            log_level="warning",
            lifespan="off",
            http="h11",
            ws="none",
            timeout_graceful_shutdown=3,
        )
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None
        self._warm = warm
        self.warmed = threading.Event()  # set once the newest runs have been read (at once without `warm`)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    @property
    def token_url(self) -> str:
        """The URL to open: with `?token=` when a token is required."""
        return self.gate.url(self.url) if self.gate is not None else self.url

    def start(self) -> ViewerServer:
        self._thread = threading.Thread(target=self._run, name="sciswarm-viewer", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started and self._thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        return self

    def _run(self) -> None:
        self._announce()
        if self._warm:  # read the newest runs' transcripts now, not on the first request
            threading.Thread(target=self._warm_up, name="sciswarm-viewer-warm", daemon=True).start()
        else:
            self.warmed.set()
        try:
            self._server.run(sockets=[self.sock])
        finally:
            self._withdraw()

    def _warm_up(self) -> None:
        try:
            self.runs.warm(self.stopping)
        finally:
            self.warmed.set()

    def serve_until_interrupted(self) -> None:
        """Serve in this thread until Ctrl-C (or SIGTERM), then close the socket."""
        try:
            self._run()
        except KeyboardInterrupt:
            pass
        finally:
            self.stopping.set()
            self.sock.close()

    def close(self) -> None:
        self.stopping.set()  # event streams notice within poll_s
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.sock.close()

    def __enter__(self) -> ViewerServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- the marker in the runs folder ----
    def _announce(self) -> None:
        data = {
            "pid": os.getpid(),
            "url": self.url,
            "host": self.host,
            "port": self.port,
            "token_required": self.gate is not None,
            "runs_dir": str(self.runs.root),
        }
        path = self.runs.root / MARKER
        with contextlib.suppress(OSError):
            tmp = path.with_name(f"{MARKER}.{os.getpid()}.{self.port}.tmp")
            tmp.write_text(json.dumps(data))
            os.replace(tmp, path)

    def _withdraw(self) -> None:
        path = self.runs.root / MARKER
        mine = read_json(path) or {}
        if mine.get("pid") == os.getpid() and mine.get("port") == self.port:
            with contextlib.suppress(OSError):
                path.unlink()


def running_viewer(runs_dir: Path) -> dict[str, Any] | None:
    """The viewer serving `runs_dir` (its marker) when its process is alive and its port answers, else None."""
    marker = read_json(Path(runs_dir) / MARKER)
    if not marker or not isinstance(marker.get("pid"), int) or not isinstance(marker.get("port"), int):
        return None
    if not procs.pid_alive(marker["pid"]) or marker.get("runs_dir") != str(Path(runs_dir).resolve()):
        return None
    host = str(marker.get("host") or "127.0.0.1")
    probe = "127.0.0.1" if host in {"0.0.0.0", ""} else "::1" if host == "::" else host
    try:
        with socket.create_connection((probe, marker["port"]), timeout=1):
            return marker
    except OSError:
        return None


def serve(runs_dir: Path, host: str = "127.0.0.1", port: int = DEFAULT_PORT, *, token: str | None = None) -> None:
    """Serve the viewer until Ctrl-C (a token is made when `host` is not loopback and none is given)."""
    server = ViewerServer(runs_dir, host, port, token=token)
    print(
        f"sciswarm viewer on {server.token_url}  (runs: {server.runs.root})  Ctrl-C to stop",
        file=sys.stderr,
        flush=True,
    )
    server.serve_until_interrupted()


def serve_beside(runs_dir: Path, run_id: str) -> tuple[str, ViewerServer | None]:
    """For `sciswarm run --serve`: the URL of the run in a viewer of its runs folder, and the server started
    for it (on loopback, port 8765 or else a free one), or None when a viewer was already serving the folder."""
    existing = running_viewer(runs_dir)
    if existing is not None:
        return f"{existing['url']}#{run_id}", None
    try:
        server = ViewerServer(runs_dir, port=DEFAULT_PORT)
    except OSError:
        server = ViewerServer(runs_dir, port=0)
    server.start()
    return f"{server.url}#{run_id}", server
