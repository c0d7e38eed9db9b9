"""The viewer's access token: required beyond loopback, on every endpoint, by header, query or cookie.

Servers bound to 0.0.0.0 are reached through 127.0.0.1 only; no traffic leaves loopback. A client from another
address is simulated at the ASGI level (the app called with that peer), never over the network.
"""

from __future__ import annotations

import asyncio
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from auth_support import ENDPOINTS, TOKEN, assert_ok, assert_refused, local
from web_support import append, get, head, make_run, rec, records

from sciswarm.view.web import ViewerServer


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


def asgi_get(app: Any, path: str, client: str, host: str, headers: list[tuple[bytes, bytes]] | None = None) -> int:
    """One GET through the ASGI app as if `client` had connected (no socket, no network)."""
    path, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", host.encode()), *(headers or [])],
        "client": (client, 40000),
        "server": ("192.168.1.5", 8765),
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return int(sent[0]["status"])


def test_a_non_loopback_client_needs_the_token(runs: Path) -> None:
    with ViewerServer(runs, host="0.0.0.0") as srv:
        for path in ["", "api/runs", "api/runs/r1/events", "api/runs/r1/files/run.json"]:
            assert asgi_get(srv.app, f"/{path}", "192.168.1.20", "192.168.1.5:8765") == 401, path
        assert asgi_get(srv.app, f"/api/runs?token={srv.token}", "192.168.1.20", "192.168.1.5:8765") == 200
        bearer = [(b"authorization", f"Bearer {srv.token}".encode())]
        assert asgi_get(srv.app, "/api/runs", "10.0.0.7", "viewer.lab:8765", bearer) == 200


def test_without_a_token_only_loopback_clients_are_served(runs: Path) -> None:
    with ViewerServer(runs) as srv:  # loopback, no token
        assert asgi_get(srv.app, "/api/runs", "127.0.0.1", "127.0.0.1:8765") == 200
        assert asgi_get(srv.app, "/api/runs", "::1", "[::1]:8765") == 200
        assert asgi_get(srv.app, "/api/runs", "192.168.1.20", "127.0.0.1:8765") == 403  # a peer beyond loopback
        assert asgi_get(srv.app, "/api/runs", "127.0.0.1", "evil.example") == 403  # a foreign Host header
        assert asgi_get(srv.app, "/api/runs", "127.0.0.1", "") == 403
