"""`sciswarm serve`: the browser viewer, a Starlette app on uvicorn over a runs folder (read-only).

Endpoints (all GET; HEAD too):
  /                                          the page (sciswarm/view/static/index.html; its assets under /static/)
  /api/runs                                  list of runs (id, name, status, started_at, tokens, cost, messages, ...)
  /api/runs/<id>                             run.json as written by the runner
  /api/runs/<id>/events?after=N&limit=M      transcript records from line N (each with `summary`, `_seq`,
                       &tail=K&idea=I&kind=a,b    `_artifacts`); `tail`: the last K lines; `idea`/`kind`: filters
  /api/runs/<id>/stream?after=N[&board=1]    Server-Sent Events tailing transcript.jsonl (Last-Event-ID resumes);
                                             `board` events with the board's changed cards; ends on a final status
  /api/runs/<id>/board                       the research board: a card per idea, slots, totals
  /api/runs/<id>/ideas/<idea>                an idea's page: idea, novelty, runs table, figures, papers, reviews,
                                             claims audit, experiment tree
  /api/runs/<id>/ideas/<idea>/tree/<node>    one node of tree.json with its diff and log
  /api/runs/<id>/files/<path>                an artifact inside the run folder (range requests: the PDF viewer)
  /api/compare?item=<run>/<idea>&item=<run>  ideas or runs side by side

When a token is set (always when bound beyond loopback) every request needs it: `Authorization: Bearer`,
`?token=`, or the cookie set after the first request that had it (see `auth`, enforced by `guard`).

Line numbers count complete lines of transcript.jsonl (ending in a newline), so `after` and SSE ids are stable
while the run appends; a torn last line is not read until its newline arrives.

Modules: `auth` (the access token), `guard` (Host, loopback and token checks in front of every route),
`files` (confined artifact access), `transcript` (records as served, line offsets), `state` (a run's totals and
board, read incrementally), `runs` (the runs folder), `ideas` (an idea's page), `compare`, `sse` (the live
stream), `app` (the routes), `server` (uvicorn, ViewerServer, serve).
"""

from __future__ import annotations

from sciswarm.view.follow import parse_line
from sciswarm.view.web.app import MAX_EVENTS, build_app, viewer_html
from sciswarm.view.web.auth import TokenGate, is_loopback
from sciswarm.view.web.files import RUN_ID_RE, artifacts, safe_path
from sciswarm.view.web.runs import RunsFolder, pid_alive, read_json
from sciswarm.view.web.server import ViewerServer, running_viewer, serve, serve_beside
from sciswarm.view.web.state import RunState
from sciswarm.view.web.transcript import FINAL, LineIndex, prepare

__all__ = [
    "FINAL",
    "MAX_EVENTS",
    "RUN_ID_RE",
    "LineIndex",
    "RunState",
    "RunsFolder",
    "TokenGate",
    "ViewerServer",
    "artifacts",
    "build_app",
    "is_loopback",
    "parse_line",
    "pid_alive",
    "prepare",
    "read_json",
    "running_viewer",
    "safe_path",
    "serve",
    "serve_beside",
    "viewer_html",
]
