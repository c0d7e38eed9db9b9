"""The viewer's HTTP side: a stdlib request handler routing the endpoints, ViewerServer, and `serve`."""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from sciswarm.view.web.auth import TokenGate, is_loopback, new_token, redact
from sciswarm.view.web.files import ArtifactError, read_artifact
from sciswarm.view.web.runs import RunsFolder, read_json
from sciswarm.view.web.sse import stream

MAX_EVENTS = 5000
APP_CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def viewer_html() -> bytes:
    return resources.files("sciswarm.view").joinpath("static/viewer.html").read_bytes()


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    app: ViewerServer


class _HTTPServer6(_HTTPServer):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    server_version = "sciswarm-viewer"
    protocol_version = "HTTP/1.0"  # one request per connection; an SSE stream ends by closing it

    def setup(self) -> None:
        super().setup()
        self._extra_headers: list[tuple[str, str]] = []

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.app.verbose:  # request lines may hold ?token=: never log it
            super().log_message("%s", redact(format % args))

    # -- responses --
    def end_headers(self) -> None:
        """Every response (the SSE stream too) gets the pending headers, e.g. the token cookie."""
        self.send_header("Referrer-Policy", "no-referrer")
        for key, value in self._extra_headers:
            self.send_header(key, value)
        self._extra_headers = []
        super().end_headers()

    def _send(self, code: int, body: bytes, ctype: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, data: Any, code: int = 200) -> None:
        body = json.dumps(data, ensure_ascii=False, default=str).encode("utf-8")
        self._send(code, body, "application/json; charset=utf-8", {"Cache-Control": "no-store"})

    def _error(self, code: HTTPStatus, message: str) -> None:
        self._json({"error": message}, int(code))

    def _host_ok(self) -> bool:
        """Refuse foreign Host headers when bound to loopback (DNS-rebinding pages cannot read the API)."""
        if not self.server.app.loopback:
            return True
        host = self.headers.get("Host", "")
        name = urlsplit(f"//{host}").hostname if host else None
        return name is not None and is_loopback(name)

    def _authorized(self, query: str) -> bool:
        """True if no token is required or the request carries it; queues the cookie when it came otherwise."""
        gate = self.server.app.gate
        if gate is None:
            return True
        access = gate.check(self.headers, query)
        if access.set_cookie:
            self._extra_headers.append(("Set-Cookie", access.set_cookie))
        return access.ok

    def _unauthorized(self) -> None:
        body = b"401 unauthorized: open the viewer with the URL `sciswarm serve` printed (it has ?token=...)\n"
        headers = {"WWW-Authenticate": "Bearer", "Cache-Control": "no-store"}
        self._send(int(HTTPStatus.UNAUTHORIZED), body, "text/plain; charset=utf-8", headers)

    # -- routing --
    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        try:
            self._route()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the browser went away
        except Exception as exc:
            with contextlib.suppress(OSError):
                self._error(HTTPStatus.INTERNAL_SERVER_ERROR, f"{type(exc).__name__}: {exc}")

    def _route(self) -> None:
        if not self._host_ok():
            self._error(HTTPStatus.FORBIDDEN, "unexpected Host header")
            return
        url = urlsplit(self.path)
        if not self._authorized(url.query):
            self._unauthorized()
            return
        query = parse_qs(url.query)
        if url.path in {"/", "/index.html"}:
            self._send(200, viewer_html(), "text/html; charset=utf-8", {"Content-Security-Policy": APP_CSP})
            return
        if url.path == "/favicon.ico":
            self._send(204, b"", "text/plain")
            return
        parts = url.path.split("/")  # still percent-encoded: decode each piece on its own
        if parts[1:3] != ["api", "runs"]:
            self._error(HTTPStatus.NOT_FOUND, "not found")
            return
        folder = self.server.app.runs
        if len(parts) == 3 or (len(parts) == 4 and parts[3] == ""):
            self._json(folder.list_runs())
            return
        run_id = unquote(parts[3])
        run_dir = folder.run_dir(run_id)
        if run_dir is None:
            self._error(HTTPStatus.NOT_FOUND, f"no run {run_id!r}")
            return
        rest = parts[4:]
        if not rest or rest == [""]:
            self._json(read_json(run_dir / "run.json") or {"run_id": run_id, "status": "unknown"})
        elif rest == ["events"]:
            after = _int(query, "after", 0)
            limit = max(1, min(_int(query, "limit", MAX_EVENTS), MAX_EVENTS))
            self._json(folder.events(run_id, run_dir, after, limit))
        elif rest == ["stream"]:
            after = _int(query, "after", 0)
            last = self.headers.get("Last-Event-ID", "")
            if last.isdigit():
                after = int(last)  # EventSource reconnecting: resume after what it has
            stream(self, self.server.app, run_id, run_dir, after)
        elif rest[0] == "files" and len(rest) > 1:
            self._file(run_dir, unquote("/".join(rest[1:])))
        else:
            self._error(HTTPStatus.NOT_FOUND, "not found")

    def _file(self, run_dir: Path, rel: str) -> None:
        try:
            body, ctype, headers = read_artifact(run_dir, rel)
        except ArtifactError as exc:
            self._error(exc.code, exc.message)
            return
        self._send(200, body, ctype, headers)


def _int(query: dict[str, list[str]], key: str, default: int) -> int:
    try:
        return max(0, int(query.get(key, [str(default)])[0]))
    except ValueError:
        return default


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
    ) -> None:
        if token == "":
            raise ValueError("the viewer token must not be empty")
        self.runs = RunsFolder(Path(runs_dir))
        self.poll_s = poll_s
        self.keepalive_s = keepalive_s
        self.verbose = verbose
        self.stopping = threading.Event()
        self.loopback = is_loopback(host)
        self.token = token if token is not None or self.loopback else new_token()
        self.httpd = (_HTTPServer6 if ":" in host else _HTTPServer)((host, port), _Handler)
        self.httpd.app = self
        self.host = host
        self.port = int(self.httpd.server_address[1])
        self.gate = TokenGate(self.token, self.port) if self.token else None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    @property
    def token_url(self) -> str:
        """The URL to open: with `?token=` when a token is required."""
        return self.gate.url(self.url) if self.gate is not None else self.url

    def start(self) -> ViewerServer:
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="sciswarm-viewer", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.httpd.serve_forever()

    def serve_until_interrupted(self) -> None:
        """Serve in this thread until Ctrl-C, then close the socket."""
        try:
            self.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            self.stopping.set()
            self.httpd.server_close()

    def close(self) -> None:
        self.stopping.set()  # SSE streams notice within poll_s
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self.httpd.server_close()

    def __enter__(self) -> ViewerServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def serve(runs_dir: Path, host: str = "127.0.0.1", port: int = 8765, *, token: str | None = None) -> None:
    """Serve the viewer until Ctrl-C (a token is made when `host` is not loopback and none is given)."""
    server = ViewerServer(runs_dir, host, port, token=token)
    print(
        f"sciswarm viewer on {server.token_url}  (runs: {server.runs.root})  Ctrl-C to stop",
        file=sys.stderr,
        flush=True,
    )
    server.serve_until_interrupted()
