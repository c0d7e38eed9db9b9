"""The viewer's routes on Starlette: the page and its assets, the read-only JSON API, files, the live stream.

Everything is GET (HEAD comes with it): there is no write or shell endpoint. Run and idea ids are single
folder names; files are confined to their run folder (`files.safe_path`).
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from sciswarm.view.web.compare import compare
from sciswarm.view.web.files import RUN_ID_RE, ArtifactError, artifact
from sciswarm.view.web.guard import Guard, Policy
from sciswarm.view.web.ideas import idea_detail, tree_node
from sciswarm.view.web.runs import read_json
from sciswarm.view.web.sse import Live, stream_response

MAX_EVENTS = 5000
APP_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self'; "
    "connect-src 'self'; frame-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)


def viewer_html() -> bytes:
    return resources.files("sciswarm.view").joinpath("static/index.html").read_bytes()


class JSON(Response):
    """JSON as the API has always written it (`json.dumps` defaults: `"key": value`), never cached."""

    media_type = "application/json"

    def __init__(self, content: Any, status_code: int = 200) -> None:
        super().__init__(content, status_code, headers={"Cache-Control": "no-store"})

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, default=str).encode("utf-8")


def _int(request: Request, key: str, default: int) -> int:
    try:
        return max(0, int(request.query_params.get(key, default)))
    except ValueError:
        return default


def build_app(live: Live, policy: Policy) -> Starlette:
    runs = live.runs

    def run_dir_of(request: Request) -> Any:
        run_id = request.path_params["run_id"]
        run_dir = runs.run_dir(run_id)
        if run_dir is None:
            raise HTTPException(404, f"no run {run_id!r}")
        return run_id, run_dir

    def page(request: Request) -> Response:
        return Response(viewer_html(), media_type="text/html", headers={"Content-Security-Policy": APP_CSP})

    def favicon(request: Request) -> Response:
        return Response(b"", status_code=204, media_type="text/plain")

    def list_runs(request: Request) -> Response:
        return JSON(runs.list_runs())

    def run_meta(request: Request) -> Response:
        run_id, run_dir = run_dir_of(request)
        return JSON(read_json(run_dir / "run.json") or {"run_id": run_id, "status": "unknown"})

    def events(request: Request) -> Response:
        run_id, run_dir = run_dir_of(request)
        q = request.query_params
        limit = max(1, min(_int(request, "limit", MAX_EVENTS), MAX_EVENTS))
        tail = min(_int(request, "tail", 0), MAX_EVENTS) if "tail" in q else None
        kinds = frozenset(k for k in q.get("kind", "").split(",") if k) or None
        page_ = runs.events(
            run_id, run_dir, _int(request, "after", 0), limit, tail=tail, idea=q.get("idea") or None, kinds=kinds
        )
        return JSON(page_)

    async def stream(request: Request) -> Response:
        run_id, run_dir = run_dir_of(request)
        after = _int(request, "after", 0)
        last = request.headers.get("last-event-id", "")
        if last.isdigit():
            after = int(last)  # EventSource reconnecting: resume after what it has
        return stream_response(live, run_id, run_dir, after, board=request.query_params.get("board") == "1")

    def board(request: Request) -> Response:
        run_id, run_dir = run_dir_of(request)
        return JSON(runs.board(run_id, run_dir))

    def idea(request: Request) -> Response:
        run_id, run_dir = run_dir_of(request)
        idea_id = request.path_params["idea_id"]
        detail = idea_detail(runs.state(run_id), run_dir, idea_id)
        if detail is None:
            raise HTTPException(404, f"no idea {idea_id!r}")
        return JSON(detail)

    def node(request: Request) -> Response:
        _, run_dir = run_dir_of(request)
        idea_id, node_id = request.path_params["idea_id"], request.path_params["node_id"]
        found = tree_node(run_dir / "ideas" / idea_id, node_id) if RUN_ID_RE.fullmatch(idea_id) else None
        if found is None:
            raise HTTPException(404, f"no node {node_id!r}")
        return JSON(found)

    def files(request: Request) -> Response:
        _, run_dir = run_dir_of(request)
        try:
            target, ctype, headers = artifact(run_dir, request.path_params["path"])
        except ArtifactError as exc:
            return JSON({"error": exc.message}, int(exc.code))
        return FileResponse(target, media_type=ctype, headers=headers)

    def compare_view(request: Request) -> Response:
        items = [i for v in request.query_params.getlist("item") for i in v.split(",") if i]
        return JSON(compare(runs, items))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return JSON({"error": "not found" if exc.detail == "Not Found" else exc.detail}, exc.status_code)

    async def crashed(request: Request, exc: Exception) -> Response:
        return JSON({"error": f"{type(exc).__name__}: {exc}"}, 500)

    run = "/api/runs/{run_id}"
    routes = [
        Route("/", page),
        Route("/index.html", page),
        Route("/favicon.ico", favicon),
        Mount("/static", StaticFiles(packages=[("sciswarm.view", "static")]), name="static"),
        Route("/api/runs", list_runs),
        Route("/api/runs/", list_runs),
        Route("/api/compare", compare_view),
        Route(run, run_meta),
        Route(f"{run}/events", events),
        Route(f"{run}/stream", stream),
        Route(f"{run}/board", board),
        Route(f"{run}/ideas/{{idea_id}}", idea),
        Route(f"{run}/ideas/{{idea_id}}/tree/{{node_id}}", node),
        Route(f"{run}/files/{{path:path}}", files),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(Guard, policy=policy)],
        exception_handlers={HTTPException: http_error, Exception: crashed},
    )
    app.router.redirect_slashes = False
    return app
