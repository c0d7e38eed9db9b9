"""`sciswarm serve`: the browser viewer. A stdlib HTTP server (no dependencies) over a runs folder.

Endpoints (all GET):
  /                               the single-page app (static/viewer.html)
  /api/runs                       list of runs (id, name, status, started_at, tokens, cost, messages, ...)
  /api/runs/<id>                  run.json as written by the runner
  /api/runs/<id>/events?after=N   transcript records from line N (each with `summary`, `_seq`, `_artifacts`)
  /api/runs/<id>/stream?after=N   Server-Sent Events tailing transcript.jsonl; ends on a final run_status
  /api/runs/<id>/files/<path>     an artifact inside the run folder (figures, the paper PDF, reviews.json)

Line numbers count complete lines of transcript.jsonl (ending in a newline), so `after` and SSE ids are stable
while the run appends; a torn last line is not read until its newline arrives.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from sciswarm.swarm.live import Tally
from sciswarm.swarm.render import summarize

FINAL = frozenset({"completed", "stopped", "interrupted", "failed"})
RUN_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
MAX_EVENTS = 5000
TEXT_TYPES = frozenset({".txt", ".md", ".tex", ".bib", ".log", ".py", ".yaml", ".yml", ".csv", ".jsonl", ".sh", ".out"})
INLINE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".svg": "image/svg+xml",
    ".pdf": "application/pdf",
    ".json": "application/json",
}
IMAGE_TYPES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg"})
# Artifacts are written by LLM-authored code: never let one run script in the viewer's origin.
ARTIFACT_CSP = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
APP_CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


# ---- reading runs --------------------------------------------------------------------------------------


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def pid_alive(pid: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return True  # unknown: assume alive
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def safe_path(root: Path, rel: str) -> Path | None:
    """`root/rel` if it stays inside `root` (after resolving symlinks), else None. `rel` is already URL-decoded."""
    if not rel or "\x00" in rel or "\\" in rel or rel.startswith("/"):
        return None
    pure = PurePosixPath(rel)
    if pure.is_absolute() or any(part in {"..", ""} for part in pure.parts):
        return None
    base = root.resolve()
    target = (base / pure).resolve()
    if not target.is_relative_to(base):
        return None
    return target


def artifacts(rec: dict[str, Any], run_dir: Path) -> list[dict[str, str]]:
    """Links a viewer can show for a record: figure thumbnails, the paper PDF, reviews.json, notes."""
    kind, idea = rec.get("kind"), str(rec.get("idea_id") or "")
    if not RUN_ID_RE.fullmatch(idea):
        idea = ""
    out: list[dict[str, str]] = []

    def add(rel: str, label: str, *, must_exist: bool = True, caption: str = "") -> None:
        target = safe_path(run_dir, rel)
        if target is None or (must_exist and not target.is_file()):
            return
        suffix = target.suffix.lower()
        kind_ = "image" if suffix in IMAGE_TYPES else "pdf" if suffix == ".pdf" else "file"
        out.append({"path": rel, "label": label, "type": kind_, "caption": caption})

    if kind == "figures" and idea and isinstance(rec.get("files"), list):
        descriptions = rec.get("descriptions") if isinstance(rec.get("descriptions"), dict) else {}
        for name in rec["files"]:
            if isinstance(name, str):
                add(f"ideas/{idea}/workspace/{name}", name, caption=str((descriptions or {}).get(name, "")))
    elif kind == "paper" and isinstance(rec.get("pdf"), str):
        pdf = rec["pdf"]
        if os.path.isabs(pdf):
            try:
                pdf = str(Path(pdf).resolve().relative_to(run_dir.resolve()))
            except ValueError:
                pdf = ""
        if pdf:
            add(pdf, "paper PDF", must_exist=False)
    elif kind == "meta_review" and idea:  # published just before reviews.json is saved
        add(f"ideas/{idea}/reviews.json", "reviews.json", must_exist=False)
    elif kind == "experiments_done" and isinstance(rec.get("notes_path"), str) and rec["notes_path"]:
        add(rec["notes_path"], "notes")
    return out


def prepare(rec: dict[str, Any], seq: int, run_dir: Path) -> dict[str, Any]:
    """A transcript record as the browser gets it: plus its line number, a summary and artifact links."""
    out = dict(rec)
    out["_seq"] = seq
    if not isinstance(out.get("summary"), str):
        try:
            out["summary"] = summarize(rec)
        except Exception as exc:  # a record we cannot describe must not break the stream
            out["summary"] = f"({type(exc).__name__} while summarizing)"
    links = artifacts(rec, run_dir)
    if links:
        out["_artifacts"] = links
    return out


def parse_line(raw: bytes) -> dict[str, Any] | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        rec = json.loads(raw)
    except ValueError:
        return None
    return rec if isinstance(rec, dict) else None


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _num(value: object) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


class LineIndex:
    """Byte offsets of complete lines in an append-only file, kept every STEP lines; updated incrementally."""

    STEP = 256

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self._marks = [0]  # byte offset of line k * STEP
        self.lines = 0  # complete lines seen
        self._pos = 0  # byte offset just after the last complete line
        self._ino = -1

    def _refresh(self) -> None:
        try:
            st = self.path.stat()
        except OSError:
            self._reset()
            return
        if st.st_ino != self._ino or st.st_size < self._pos:
            self._reset()
            self._ino = st.st_ino
        if st.st_size == self._pos:
            return
        with self.path.open("rb") as fh:
            fh.seek(self._pos)
            data = fh.read(st.st_size - self._pos)
        start = 0
        while (nl := data.find(b"\n", start)) >= 0:
            start = nl + 1
            self.lines += 1
            if self.lines % self.STEP == 0:
                self._marks.append(self._pos + start)
        self._pos += start

    def locate(self, line: int) -> tuple[int, int]:
        """(byte offset, line number) of line `line`, clamped to the complete lines present."""
        with self._lock:
            self._refresh()
            line = max(0, min(line, self.lines))
            mark = line // self.STEP
            offset = self._marks[mark]
            skip = line - mark * self.STEP
        if skip:
            with self.path.open("rb") as fh:
                fh.seek(offset)
                for _ in range(skip):
                    fh.readline()
                offset = fh.tell()
        return offset, line


class RunTally:
    """Totals read from the transcript (for runs still running, whose run.json totals lag)."""

    def __init__(self) -> None:
        self._reset(-1)

    def _reset(self, ino: int) -> None:
        self.tally = Tally()
        self.tally.status = ""  # no run_status seen yet
        self.pos = 0
        self.ino = ino

    def update(self, path: Path) -> Tally:
        try:
            st = path.stat()
        except OSError:
            return self.tally
        if st.st_ino != self.ino or st.st_size < self.pos:
            self._reset(st.st_ino)
        if st.st_size > self.pos:
            with path.open("rb") as fh:
                fh.seek(self.pos)
                data = fh.read(st.st_size - self.pos)
            end = data.rfind(b"\n") + 1
            for raw in data[:end].split(b"\n"):
                rec = parse_line(raw)
                if rec is not None:
                    self.tally.add(rec)
            self.pos += end
        return self.tally


class RunsFolder:
    """The runs directory: validated lookups, summaries, cached line indexes and tallies."""

    def __init__(self, runs_dir: Path) -> None:
        self.root = runs_dir.resolve()
        self._lock = threading.Lock()
        self._indexes: dict[str, LineIndex] = {}
        self._tallies: dict[str, RunTally] = {}

    def run_dir(self, run_id: str) -> Path | None:
        if not RUN_ID_RE.fullmatch(run_id):
            return None
        path = self.root / run_id
        if not path.is_dir() or path.resolve().parent != self.root:
            return None
        if not (path / "run.json").is_file() and not (path / "transcript.jsonl").is_file():
            return None
        return path

    def index(self, run_id: str) -> LineIndex:
        with self._lock:
            if run_id not in self._indexes:
                self._indexes[run_id] = LineIndex(self.root / run_id / "transcript.jsonl")
            return self._indexes[run_id]

    def tally(self, run_id: str) -> Tally:
        with self._lock:
            rt = self._tallies.setdefault(run_id, RunTally())
            return rt.update(self.root / run_id / "transcript.jsonl")

    def summary(self, run_id: str, run_dir: Path) -> dict[str, Any]:
        meta = read_json(run_dir / "run.json") or {}
        total = _dict(_dict(meta.get("totals")).get("total"))
        status = str(meta.get("status") or "unknown")
        entry: dict[str, Any] = {
            "id": run_id,
            "name": str(meta.get("name") or run_id),
            "status": status,
            "reason": str(meta.get("reason") or ""),
            "started_at": _num(meta.get("started_at")) or run_dir.stat().st_mtime,
            "ended_at": _num(meta.get("ended_at")) or None,
            "tokens": int(_num(total.get("tokens"))),
            "cost": _num(total.get("cost_usd")),
            "calls": int(_num(total.get("calls"))),
            "messages": int(_num(meta.get("messages"))),
            "stale": False,
        }
        if status not in FINAL:  # run.json is written at start and end: take live numbers from the transcript
            tally = self.tally(run_id)
            entry.update(tokens=tally.tokens, cost=tally.cost, calls=tally.calls, messages=tally.messages)
            if tally.status in FINAL:
                entry["status"] = tally.status
            elif status == "running" and not pid_alive(meta.get("pid")):
                entry["stale"] = True  # the process is gone but never wrote a final status
        return entry

    def list_runs(self) -> list[dict[str, Any]]:
        runs: list[dict[str, Any]] = []
        try:
            names = [p.name for p in self.root.iterdir()]
        except OSError:
            return runs
        for name in names:
            run_dir = self.run_dir(name)
            if run_dir is not None:
                try:
                    runs.append(self.summary(name, run_dir))
                except OSError:
                    continue  # deleted while we looked
        runs.sort(key=lambda r: float(r["started_at"] or 0), reverse=True)
        return runs

    def events(self, run_id: str, run_dir: Path, after: int, limit: int) -> dict[str, Any]:
        path = run_dir / "transcript.jsonl"
        if not path.is_file():
            return {"events": [], "next": 0, "more": False}
        offset, line = self.index(run_id).locate(after)
        events: list[dict[str, Any]] = []
        more = False
        with path.open("rb") as fh:
            fh.seek(offset)
            while True:
                if len(events) >= limit:
                    more = True
                    break
                raw = fh.readline()
                if not raw.endswith(b"\n"):
                    break  # end of file, or a line still being written
                seq, line = line, line + 1
                rec = parse_line(raw)
                if rec is not None:
                    events.append(prepare(rec, seq, run_dir))
        return {"events": events, "next": line, "more": more}


# ---- HTTP ----------------------------------------------------------------------------------------------


def viewer_html() -> bytes:
    return resources.files("sciswarm.swarm").joinpath("static/viewer.html").read_bytes()


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    app: ViewerServer


class _HTTPServer6(_HTTPServer):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    server_version = "sciswarm-viewer"
    protocol_version = "HTTP/1.0"  # one request per connection; an SSE stream ends by closing it

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.app.verbose:
            super().log_message(format, *args)

    # -- responses --
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
        return name is not None and name in LOOPBACK_HOSTS

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
            self._stream(run_id, run_dir, after)
        elif rest[0] == "files" and len(rest) > 1:
            self._file(run_dir, unquote("/".join(rest[1:])))
        else:
            self._error(HTTPStatus.NOT_FOUND, "not found")

    def _file(self, run_dir: Path, rel: str) -> None:
        target = safe_path(run_dir, rel)
        if target is None:
            self._error(HTTPStatus.FORBIDDEN, "path outside the run folder")
            return
        if not target.is_file():
            self._error(HTTPStatus.NOT_FOUND, f"no file {rel!r}")
            return
        suffix = target.suffix.lower()
        headers = {"Cache-Control": "no-cache"}
        if suffix in INLINE_TYPES:
            ctype = INLINE_TYPES[suffix]
        elif suffix in TEXT_TYPES:
            ctype = "text/plain; charset=utf-8"
        else:  # anything else (html, js, binaries) is a download, never rendered in our origin
            ctype = "application/octet-stream"
            headers["Content-Disposition"] = f'attachment; filename="{target.name.replace(chr(34), "")}"'
        if suffix != ".pdf":
            headers["Content-Security-Policy"] = ARTIFACT_CSP
        try:
            body = target.read_bytes()
        except OSError as exc:
            self._error(HTTPStatus.NOT_FOUND, f"cannot read {rel!r}: {exc.strerror}")
            return
        self._send(200, body, ctype, headers)

    def _stream(self, run_id: str, run_dir: Path, after: int) -> None:
        app = self.server.app
        path = run_dir / "transcript.jsonl"
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Accel-Buffering", "no")
        self.end_headers()
        if self.command == "HEAD":
            return
        self._emit(b"retry: 2000\n\n")
        offset, line = app.runs.index(run_id).locate(after) if path.is_file() else (0, 0)
        buf = b""
        last_beat = time.monotonic()
        closing = False  # run.json says final: one more read, then end
        fh = None
        try:
            while not app.stopping.is_set():
                if fh is None and path.is_file():
                    fh = path.open("rb")
                    fh.seek(offset)
                chunk = fh.read(1 << 16) if fh is not None else b""
                if chunk:
                    buf += chunk
                    *lines, buf = buf.split(b"\n")
                    out: list[bytes] = []
                    final: dict[str, Any] | None = None
                    for raw in lines:
                        seq, line = line, line + 1
                        rec = parse_line(raw)
                        if rec is None:
                            continue
                        data = json.dumps(prepare(rec, seq, run_dir), ensure_ascii=False, default=str)
                        out.append(f"id: {line}\ndata: {data}\n\n".encode())
                        if rec.get("kind") == "run_status" and rec.get("status") in FINAL:
                            final = rec
                    if out:
                        self._emit(b"".join(out))
                    if final is not None:
                        self._end(str(final["status"]), str(final.get("reason") or ""), line)
                        return
                    continue
                if closing:
                    meta = read_json(run_dir / "run.json") or {}
                    self._end(str(meta.get("status")), str(meta.get("reason") or ""), line)
                    return
                meta = read_json(run_dir / "run.json") or {}
                status = meta.get("status")
                if status in FINAL:
                    closing = True
                    continue
                if status == "running" and not pid_alive(meta.get("pid")):
                    self._end("unknown", "the run's process is gone without a final status", line)
                    return
                now = time.monotonic()
                if now - last_beat >= app.keepalive_s:
                    self._emit(b": keep-alive\n\n")
                    last_beat = now
                app.stopping.wait(app.poll_s)
        finally:
            if fh is not None:
                fh.close()

    def _emit(self, data: bytes) -> None:
        self.wfile.write(data)
        self.wfile.flush()

    def _end(self, status: str, reason: str, line: int) -> None:
        data = json.dumps({"status": status, "reason": reason, "next": line})
        self._emit(f"event: end\ndata: {data}\n\n".encode())


def _int(query: dict[str, list[str]], key: str, default: int) -> int:
    try:
        return max(0, int(query.get(key, [str(default)])[0]))
    except ValueError:
        return default


class ViewerServer:
    """The viewer over `runs_dir`. Port 0 picks a free port; use `.start()` for a background thread."""

    def __init__(
        self,
        runs_dir: Path,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        poll_s: float = 0.25,
        keepalive_s: float = 15.0,
        verbose: bool = False,
    ) -> None:
        self.runs = RunsFolder(Path(runs_dir))
        self.poll_s = poll_s
        self.keepalive_s = keepalive_s
        self.verbose = verbose
        self.stopping = threading.Event()
        self.loopback = host in LOOPBACK_HOSTS or host.startswith("127.")
        self.httpd = (_HTTPServer6 if ":" in host else _HTTPServer)((host, port), _Handler)
        self.httpd.app = self
        self.host = host
        self.port = int(self.httpd.server_address[1])
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def start(self) -> ViewerServer:
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="sciswarm-viewer", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.httpd.serve_forever()

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


def serve(runs_dir: Path, host: str = "127.0.0.1", port: int = 8765) -> None:
    """Serve the viewer until Ctrl-C."""
    server = ViewerServer(runs_dir, host, port)
    print(f"sciswarm viewer on {server.url}  (runs: {server.runs.root})  Ctrl-C to stop", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stopping.set()
        server.httpd.server_close()
