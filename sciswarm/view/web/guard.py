"""Who may talk to the viewer, checked before any route: an ASGI middleware in front of the whole app.

In this order, for every HTTP request (the event stream and HEAD requests too):
1. bound to loopback, the Host header must name a loopback host (a DNS-rebinding page cannot read the API);
2. without a token, only loopback clients are served (a listener that somehow sees another peer refuses it);
3. with a token, the request must carry it (header, query or cookie, see `auth`); a 401 tells nothing about
   which runs or files exist. A valid token given by header or query sets the cookie on the response.
Every response gets `Referrer-Policy: no-referrer` (a `?token=` URL is never sent on) and `nosniff`.
With `verbose`, one line per request goes to stderr with any `token=` value blanked out.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sciswarm.view.web.auth import TokenGate, is_loopback, redact

UNAUTHORIZED = b"401 unauthorized: open the viewer with the URL `sciswarm serve` printed (it has ?token=...)\n"


@dataclass(frozen=True)
class Policy:
    """What the guard enforces: `loopback` (the server is bound to a loopback address) and the token gate."""

    loopback: bool
    gate: TokenGate | None
    verbose: bool = False


class Guard:
    def __init__(self, app: ASGIApp, policy: Policy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        query = scope.get("query_string", b"").decode("latin-1")
        status = [0]
        extra: list[tuple[bytes, bytes]] = [(b"referrer-policy", b"no-referrer")]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
                have = {k.lower() for k, _ in message.get("headers", [])}
                added = [(k, v) for k, v in extra if k not in have or k == b"set-cookie"]
                if b"x-content-type-options" not in have:
                    added.append((b"x-content-type-options", b"nosniff"))
                message = {**message, "headers": [*message.get("headers", []), *added]}
            await send(message)

        try:
            refusal = self._refusal(scope, headers)
            if refusal is None and self.policy.gate is not None:
                access = self.policy.gate.check(headers, query)
                if not access.ok:
                    refusal = (401, UNAUTHORIZED, "text/plain; charset=utf-8")
                elif access.set_cookie:
                    extra.append((b"set-cookie", access.set_cookie.encode("latin-1")))
            if refusal is not None:
                await _answer(send_with_headers, scope, *refusal)
            else:
                await self.app(scope, receive, send_with_headers)
        finally:
            if self.policy.verbose:
                self._log(scope, query, status[0])

    def _refusal(self, scope: Scope, headers: Headers) -> tuple[int, bytes, str] | None:
        if self.policy.loopback:
            host = headers.get("host", "")
            name = _hostname(host)
            if name is None or not is_loopback(name):
                return 403, _error("unexpected Host header"), "application/json; charset=utf-8"
        client = scope.get("client")
        peer = str(client[0]) if client else ""
        if self.policy.gate is None and not is_loopback(peer):
            return 403, _error("only loopback clients may connect without a token"), "application/json; charset=utf-8"
        return None

    @staticmethod
    def _log(scope: Scope, query: str, status: int) -> None:
        raw = scope.get("raw_path") or scope.get("path", "").encode()
        target = raw.decode("latin-1") + (f"?{query}" if query else "")
        client = scope.get("client")
        peer = client[0] if client else "-"
        line = f'{peer} - "{scope["method"]} {target} HTTP/{scope.get("http_version", "1.1")}" {status}'
        print(redact(line), file=sys.stderr, flush=True)


def _hostname(host: str) -> str | None:
    """The host part of a Host header (`name`, `name:port`, `[v6]:port`), or None when it is malformed."""
    host = host.strip()
    if not host:
        return None
    if host.startswith("["):
        end = host.find("]")
        return host[1:end] if end > 0 else None
    name, _, port = host.rpartition(":") if host.count(":") == 1 else (host, "", "")
    if port and not port.isdigit():
        return None
    return name or None


def _error(message: str) -> bytes:
    return json.dumps({"error": message}).encode()


async def _answer(send: Send, scope: Scope, status: int, body: bytes, ctype: str) -> None:
    headers = [
        (b"content-type", ctype.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
    ]
    if status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})
