"""A fake Semantic Scholar + OpenAlex server on 127.0.0.1, for tests (no internet needed).

Serves ``GET /graph/v1/paper/search`` (S2 Graph API: ``{"total", "offset", "next", "data": [...]}``,
records with ``paperId``, ``externalIds``, ``citationStyles``..., only the requested ``fields``) and
``GET /works`` (OpenAlex: ``{"meta": {...}, "results": [...]}`` with ``abstract_inverted_index``).
Behaviour is scriptable per API: queue replies with ``script("s2", fail(429), fail(429), ok())``
(consumed one per request, then ``always(...)`` applies, default ``ok()``). Every request is recorded.

The records it serves (by default SAMPLE_S2_PAPERS and SAMPLE_OPENALEX_WORKS) are in scholar_records.py.

    with FakeScholar() as server:
        server.script("s2", fail(500))
        ... LiteratureConfig(api_base=server.url, fallback_api_base=server.url) ...
        assert server.requests_to("openalex")
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

from support.scholar_records import SAMPLE_OPENALEX_WORKS, SAMPLE_S2_PAPERS

Api = Literal["s2", "openalex"]
S2_PATH = "/graph/v1/paper/search"
OPENALEX_PATH = "/works"


@dataclass
class Reply:
    """One scripted reply: an HTTP status (200 = search results), an optional delay before answering,
    an optional body replacing the default one, and extra headers (e.g. Retry-After)."""

    status: int = 200
    delay_s: float = 0.0
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


def ok(delay_s: float = 0.0) -> Reply:
    return Reply(200, delay_s)


def fail(status: int, retry_after: float | None = None, body: Any = None) -> Reply:
    headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
    return Reply(status, body=body, headers=headers)


def slow(delay_s: float) -> Reply:
    """Answers normally, but only after ``delay_s`` (a client with a shorter timeout gives up)."""
    return Reply(200, delay_s)


@dataclass
class RecordedRequest:
    api: Api | None
    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    at: float  # time.monotonic() on arrival


def _tokens(text: str | None) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", (text or "").lower()))


def _rank(records: list[dict[str, Any]], query: str, title: str, abstract: str) -> list[dict[str, Any]]:
    words = _tokens(query)
    scored = []
    for rec in records:
        hay = _tokens(rec.get(title))
        if isinstance(rec.get(abstract), str):
            hay |= _tokens(rec[abstract])
        elif isinstance(rec.get(abstract), dict):
            hay |= _tokens(" ".join(rec[abstract]))
        score = len(words & hay)
        if score:
            scored.append((score, rec))
    scored.sort(key=lambda pair: -pair[0])
    return [rec for _, rec in scored]


class FakeScholar:
    def __init__(
        self,
        papers: list[dict[str, Any]] | None = None,
        works: list[dict[str, Any]] | None = None,
    ) -> None:
        self.papers = list(SAMPLE_S2_PAPERS if papers is None else papers)
        self.works = list(SAMPLE_OPENALEX_WORKS if works is None else works)
        self.requests: list[RecordedRequest] = []
        self._scripts: dict[Api, list[Reply]] = {"s2": [], "openalex": []}
        self._default: dict[Api, Reply] = {"s2": ok(), "openalex": ok()}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- control ---------------------------------------------------------------------------------------
    def start(self) -> FakeScholar:
        handler = type("Handler", (_Handler,), {"owner": self})
        self._server = _Server(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeScholar:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "server not started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def script(self, api: Api, *replies: Reply) -> None:
        """Queue replies for the next requests to ``api`` (one each, in order)."""
        with self._lock:
            self._scripts[api].extend(replies)

    def always(self, api: Api, reply: Reply) -> None:
        """The reply once the script is used up."""
        with self._lock:
            self._default[api] = reply

    def requests_to(self, api: Api) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.api == api]

    # -- serving (called from the handler threads) ----------------------------------------------------
    def _next_reply(self, api: Api) -> Reply:
        with self._lock:
            return self._scripts[api].pop(0) if self._scripts[api] else self._default[api]

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def s2_search(self, params: dict[str, str]) -> tuple[int, Any]:
        limit, offset = int(params.get("limit", "100")), int(params.get("offset", "0"))
        if not 1 <= limit <= 100:
            return 400, {"error": "Requested limit is invalid; must be between 1 and 100"}
        fields = {f for f in params.get("fields", "title").split(",") if f} | {"paperId"}
        hits = _rank(self.papers, params.get("query", ""), "title", "abstract")
        if not hits:
            return 200, {"total": 0, "offset": 0}  # the real API omits "data" when nothing matches
        page = [{k: v for k, v in p.items() if k in fields} for p in hits[offset : offset + limit]]
        body: dict[str, Any] = {"total": len(hits), "offset": offset, "data": page}
        if offset + limit < len(hits):
            body["next"] = offset + limit
        return 200, body

    def openalex_search(self, params: dict[str, str]) -> tuple[int, Any]:
        per_page = int(params.get("per-page", params.get("per_page", "25")))
        if not 1 <= per_page <= 200:
            return 400, {"error": "Invalid query parameters error.", "message": "per-page must be 1-200"}
        hits = _rank(self.works, params.get("search", ""), "title", "abstract_inverted_index")
        select = set(params["select"].split(",")) if params.get("select") else None
        page = [{k: v for k, v in w.items() if select is None or k in select} for w in hits[:per_page]]
        meta = {"count": len(hits), "db_response_time_ms": 12, "page": 1, "per_page": per_page}
        return 200, {"meta": meta, "results": page, "group_by": []}


_ERROR_BODIES = {
    429: {
        "message": "Too Many Requests. Please wait and try again or apply for a key for higher rate "
        "limits. https://www.semanticscholar.org/product/api#api-key-form",
        "code": "429",
    },
    500: {"message": "Internal Server Error"},
    504: {"message": "Endpoint request timed out"},
}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # socketserver's default backlog of 5 drops concurrent connects (1 s SYN retry)


class _Handler(BaseHTTPRequestHandler):
    owner: FakeScholar
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        split = urlsplit(self.path)
        params = dict(parse_qsl(split.query, keep_blank_values=True))
        api: Api | None = None
        if split.path in (S2_PATH, OPENALEX_PATH):
            api = "s2" if split.path == S2_PATH else "openalex"
        self.owner._record(
            RecordedRequest(api, "GET", split.path, params, dict(self.headers.items()), time.monotonic())
        )
        if api is None:
            return self._send(404, {"error": f"Not found: {split.path}"}, {})
        reply = self.owner._next_reply(api)
        if reply.delay_s and self.owner._stopping.wait(reply.delay_s):
            return  # server stopping
        if reply.status != 200:
            default = _ERROR_BODIES.get(reply.status, {"error": "error"})
            return self._send(reply.status, default if reply.body is None else reply.body, reply.headers)
        if reply.body is not None:
            return self._send(200, reply.body, reply.headers)
        status, body = self.owner.s2_search(params) if api == "s2" else self.owner.openalex_search(params)
        self._send(status, body, reply.headers)

    def _send(self, status: int, body: Any, headers: dict[str, str]) -> None:
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout test)
