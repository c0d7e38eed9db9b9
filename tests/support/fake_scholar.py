"""A fake Semantic Scholar + OpenAlex server on 127.0.0.1, for tests (no internet needed).

Serves ``GET /graph/v1/paper/search`` (S2 Graph API: ``{"total", "offset", "next", "data": [...]}``,
records with ``paperId``, ``externalIds``, ``citationStyles``..., only the requested ``fields``) and
``GET /works`` (OpenAlex: ``{"meta": {...}, "results": [...]}`` with ``abstract_inverted_index``).
Behaviour is scriptable per API: queue replies with ``script("s2", fail(429), fail(429), ok())``
(consumed one per request, then ``always(...)`` applies, default ``ok()``). Every request is recorded.

The records below have the real APIs' shapes; ids and counts are illustrative.

    with FakeScholar() as server:
        server.script("s2", fail(500))
        ... LiteratureConfig(api_base=server.url, fallback_api_base=server.url) ...
        assert server.requests_to("openalex")
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

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


def _pid(title: str) -> str:
    return hashlib.sha1(title.encode()).hexdigest()


def s2_paper(
    title: str,
    authors: list[str],
    year: int | None,
    venue: str,
    abstract: str | None,
    citations: int,
    external: dict[str, Any] | None = None,
    bibtex: str | None = None,
) -> dict[str, Any]:
    """A paper record as the S2 Graph API returns it (all the fields sciswarm asks for)."""
    pid = _pid(title)
    return {
        "paperId": pid,
        "externalIds": {"CorpusId": int(pid[:7], 16), **(external or {})},
        "url": f"https://www.semanticscholar.org/paper/{pid}",
        "title": title,
        "abstract": abstract,
        "venue": venue,
        "year": year,
        "citationCount": citations,
        "citationStyles": {"bibtex": bibtex} if bibtex else None,
        "authors": [{"authorId": str(int(_pid(a)[:8], 16)), "name": a} for a in authors],
    }


DDPM_ABSTRACT = (
    "We present high quality image synthesis results using diffusion probabilistic models, a class of "
    "latent variable models inspired by considerations from nonequilibrium thermodynamics. Our best "
    "results are obtained by training on a weighted variational bound designed according to a novel "
    "connection between diffusion probabilistic models and denoising score matching with Langevin dynamics."
)
SAMPLE_S2_PAPERS: list[dict[str, Any]] = [
    s2_paper(
        "Denoising Diffusion Probabilistic Models",
        ["Jonathan Ho", "Ajay Jain", "P. Abbeel"],
        2020,
        "Neural Information Processing Systems",
        DDPM_ABSTRACT,
        15000,
        {"ArXiv": "2006.11239", "DBLP": "conf/nips/HoJA20", "MAG": "3100572490"},
        "@['JournalArticle', 'Conference']{Ho2020DenoisingDP,\n author = {Jonathan Ho and Ajay Jain and "
        "P. Abbeel},\n booktitle = {Neural Information Processing Systems},\n journal = {ArXiv},\n "
        "title = {Denoising Diffusion Probabilistic Models},\n volume = {abs/2006.11239},\n "
        "year = {2020}\n}\n",
    ),
    s2_paper(
        "Score-Based Generative Modeling through Stochastic Differential Equations",
        [
            "Yang Song",
            "Jascha Narain Sohl-Dickstein",
            "Diederik P. Kingma",
            "Abhishek Kumar",
            "Stefano Ermon",
        ],
        2020,
        "International Conference on Learning Representations",
        "Creating noise from data is easy; creating data from noise is generative modeling. We present a "
        "stochastic differential equation (SDE) that smoothly transforms a complex data distribution.",
        5000,
        {"ArXiv": "2011.13456", "DBLP": "conf/iclr/0011SKKEP21"},
        "@['JournalArticle']{Song2020ScoreBasedGM,\n author = {Yang Song and Jascha Narain Sohl-Dickstein "
        "and Diederik P. Kingma and Abhishek Kumar and Stefano Ermon and Ben Poole},\n journal = {ArXiv},"
        "\n title = {Score-Based Generative Modeling through Stochastic Differential Equations},\n "
        "volume = {abs/2011.13456},\n year = {2020}\n}\n",
    ),
    s2_paper(
        "Grokking: Generalization Beyond Overfitting on Small Algorithmic Datasets",
        ["Alethea Power", "Yuri Burda", "Harrison Edwards", "Igor Babuschkin", "Vedant Misra"],
        2022,
        "arXiv.org",
        None,  # S2 often has no abstract
        600,
        {"ArXiv": "2201.02177"},
        None,  # and sometimes no citationStyles
    ),
    s2_paper(
        "Diffusion Models Beat GANs on Image Synthesis",
        ["Prafulla Dhariwal", "Alex Nichol"],
        2021,
        "Neural Information Processing Systems",
        "We show that diffusion models can achieve image sample quality superior to the current "
        "state-of-the-art generative models.",
        6000,
        {"ArXiv": "2105.05233", "DOI": "10.5555/diffusion.beats.gans"},
        "@None{Dhariwal2021DiffusionMB,\n author = {Prafulla Dhariwal and Alex Nichol},\n booktitle = "
        "{Neural Information Processing Systems},\n title = {Diffusion Models Beat GANs on Image Synthesis},"
        "\n year = {2021}\n}\n",
    ),
]


def inverted_index(text: str) -> dict[str, list[int]]:
    index: dict[str, list[int]] = {}
    for position, word in enumerate(text.split()):
        index.setdefault(word, []).append(position)
    return index


def openalex_work(
    title: str,
    authors: list[str],
    year: int | None,
    source: str | None,
    abstract: str | None,
    citations: int,
    doi: str | None = None,
) -> dict[str, Any]:
    """A work record as OpenAlex's ``/works`` returns it (the fields sciswarm selects, and a few more)."""
    wid = "W" + str(int(_pid(title)[:9], 16))
    return {
        "id": f"https://openalex.org/{wid}",
        "doi": f"https://doi.org/{doi}" if doi else None,
        "title": title,
        "display_name": title,
        "publication_year": year,
        "publication_date": f"{year}-06-19" if year else None,
        "type": "article",
        "cited_by_count": citations,
        "authorships": [
            {
                "author_position": "first" if i == 0 else "middle",
                "author": {"id": f"https://openalex.org/A{i + 1}", "display_name": a, "orcid": None},
                "institutions": [],
                "raw_author_name": a,
            }
            for i, a in enumerate(authors)
        ],
        "primary_location": {
            "is_oa": True,
            "landing_page_url": f"https://example.org/{wid}",
            "pdf_url": None,
            "source": {"id": "https://openalex.org/S1", "display_name": source, "type": "journal"} if source else None,
        },
        "abstract_inverted_index": inverted_index(abstract) if abstract else None,
    }


SAMPLE_OPENALEX_WORKS: list[dict[str, Any]] = [
    openalex_work(
        "Denoising Diffusion Probabilistic Models",
        ["Jonathan Ho", "Ajay Jain", "Pieter Abbeel"],
        2020,
        "arXiv (Cornell University)",
        DDPM_ABSTRACT,
        9000,
        "10.48550/arxiv.2006.11239",
    ),
    openalex_work(
        "Improved Denoising Diffusion Probabilistic Models",
        ["Alex Nichol", "Prafulla Dhariwal"],
        2021,
        None,
        "Denoising diffusion probabilistic models (DDPM) are a class of generative models.",
        2500,
    ),
]


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
