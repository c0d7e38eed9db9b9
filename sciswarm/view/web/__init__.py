"""`sciswarm serve`: the browser viewer. A stdlib HTTP server (no dependencies) over a runs folder.

Endpoints (all GET):
  /                               the single-page app (sciswarm/view/static/viewer.html)
  /api/runs                       list of runs (id, name, status, started_at, tokens, cost, messages, ...)
  /api/runs/<id>                  run.json as written by the runner
  /api/runs/<id>/events?after=N   transcript records from line N (each with `summary`, `_seq`, `_artifacts`)
  /api/runs/<id>/stream?after=N   Server-Sent Events tailing transcript.jsonl; ends on a final run_status
  /api/runs/<id>/files/<path>     an artifact inside the run folder (figures, the paper PDF, reviews.json)

When a token is set (always when bound beyond loopback) every request needs it: `Authorization: Bearer`,
`?token=`, or the cookie set after the first request that had it (see `auth`).

Line numbers count complete lines of transcript.jsonl (ending in a newline), so `after` and SSE ids are stable
while the run appends; a torn last line is not read until its newline arrives.

Modules: `auth` (the access token), `files` (confined artifact access), `transcript` (reading transcript.jsonl),
`runs` (the runs folder), `sse` (the live stream), `server` (HTTP handler, ViewerServer, serve).
"""

from __future__ import annotations

from sciswarm.view.follow import parse_line
from sciswarm.view.web.auth import TokenGate, is_loopback
from sciswarm.view.web.files import RUN_ID_RE, artifacts, safe_path
from sciswarm.view.web.runs import RunsFolder, pid_alive, read_json
from sciswarm.view.web.server import MAX_EVENTS, ViewerServer, serve, viewer_html
from sciswarm.view.web.transcript import FINAL, LineIndex, RunTally, prepare

__all__ = [
    "FINAL",
    "MAX_EVENTS",
    "RUN_ID_RE",
    "LineIndex",
    "RunTally",
    "RunsFolder",
    "TokenGate",
    "ViewerServer",
    "artifacts",
    "is_loopback",
    "parse_line",
    "pid_alive",
    "prepare",
    "read_json",
    "safe_path",
    "serve",
    "viewer_html",
]
