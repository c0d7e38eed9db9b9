"""Token access to the viewer: who may read the runs when it listens beyond loopback.

A request carries the token as `Authorization: Bearer <token>`, as `?token=<token>` in the query, or as the
cookie the server sets once it has seen a valid token (HttpOnly, SameSite=Strict, Path=/), so the page's own
fetch() and EventSource calls work after it was opened with `?token=`. Tokens are compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs, quote, unquote

COOKIE_NAME = "sciswarm_token"
_TOKEN_IN_TEXT = re.compile(r"(?i)(token=)[^&\s\"']*")


def is_loopback(host: str) -> bool:
    """True for `localhost` and loopback addresses (127.0.0.0/8, ::1, ::ffff:127.x); names are not resolved."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        addr = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped.is_loopback
    return addr.is_loopback


def new_token() -> str:
    return secrets.token_urlsafe(24)


def token_matches(given: str, expected: str) -> bool:
    """Constant-time comparison; hashing first keeps the length of the token out of the timing too."""
    a = hashlib.sha256(given.encode("utf-8", "surrogateescape")).digest()
    b = hashlib.sha256(expected.encode("utf-8", "surrogateescape")).digest()
    return hmac.compare_digest(a, b)


def redact(text: str) -> str:
    """`text` with every `token=...` value blanked out (for log lines holding a request line)."""
    return _TOKEN_IN_TEXT.sub(r"\1[redacted]", text)


def bearer_token(header: str | None) -> str | None:
    scheme, _, value = (header or "").strip().partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def cookie_values(header: str | None, name: str) -> Iterator[str]:
    """The values of every cookie called `name` in a Cookie header (URL-decoded)."""
    for pair in (header or "").split(";"):
        key, sep, value = pair.strip().partition("=")
        if sep and key == name:
            yield unquote(value.strip().strip('"'))


@dataclass(frozen=True)
class Access:
    """The outcome of checking one request: allowed or not, and a Set-Cookie value to send if any."""

    ok: bool
    set_cookie: str | None = None


class TokenGate:
    """Checks requests against one token. The cookie name carries the port: cookies are shared across ports."""

    def __init__(self, token: str, port: int) -> None:
        if not token:
            raise ValueError("the viewer token must not be empty")
        self.token = token
        self.cookie_name = f"{COOKIE_NAME}_{port}"

    def check(self, headers: Mapping[str, str], query: str) -> Access:
        """`headers`: the request's (case-insensitive, e.g. Starlette's); `query`: the raw query string."""
        if any(token_matches(v, self.token) for v in cookie_values(headers.get("Cookie"), self.cookie_name)):
            return Access(ok=True)
        given = [bearer_token(headers.get("Authorization")), *parse_qs(query).get("token", [])]
        if any(v is not None and token_matches(v, self.token) for v in given):
            return Access(ok=True, set_cookie=self.cookie())
        return Access(ok=False)

    def cookie(self) -> str:
        return f"{self.cookie_name}={quote(self.token, safe='')}; HttpOnly; SameSite=Strict; Path=/"

    def url(self, base: str) -> str:
        """`base` (the server's root URL) with the token in the query: the link to open."""
        return f"{base}?token={quote(self.token, safe='')}"
