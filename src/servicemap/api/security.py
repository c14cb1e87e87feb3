"""What stands between the public and the directory: security headers on every response, CORS
for the configured origins only, and a per-client rate limit answering 429.

Plain ASGI middleware, so that it also covers what FastAPI does not route: 404s, 422s,
CORS preflights and the pages of `servicemap.web` mounted beside the API.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from urllib.parse import urlsplit

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servicemap.publish import backend, engine_for

DEFAULT_REQUESTS_PER_SECOND = 20.0
DEFAULT_BURST = 120
MAX_TRACKED_CLIENTS = 10_000
# No inline script anywhere: crawled text that escaped escaping still could not run.
CONTENT_SECURITY_POLICY = "default-src 'self'; script-src 'self'; object-src 'none'; frame-ancestors 'none'"
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
# Swagger UI (/docs) loads its bundle from this CDN and starts it with one inline script,
# which is allowed by its hash alone; the page shows no crawled text.
DOCS_CDN = "https://cdn.jsdelivr.net"
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)


# The one table the API writes to: 'meld een fout' reports (see migration 0004).
API_WRITES = "problem_report"
_WRITABLE_TABLES = text(
    "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND ("
    "  has_table_privilege(c.oid, 'UPDATE') OR has_table_privilege(c.oid, 'DELETE')"
    "  OR has_table_privilege(c.oid, 'TRUNCATE')"
    "  OR (c.relname <> :api_writes AND has_table_privilege(c.oid, 'INSERT'))) "
    "ORDER BY c.relname"
)


class WritableDatabaseRole(RuntimeError):
    """The API was given a database role that can change the directory."""


def ensure_read_only(database_url: str) -> None:
    """Refuse to serve the public with a PostgreSQL role that can write to the directory: the
    API's URL (SERVICEMAP_API_DATABASE_URL) must be the read-only role's of migration 0004.
    SQLite has no roles; the file's permissions are the boundary there."""
    if backend(database_url) != "postgresql":
        return
    with engine_for(database_url).connect() as connection:
        role = connection.execute(text("SELECT current_user")).scalar_one()
        writable = list(connection.execute(_WRITABLE_TABLES, {"api_writes": API_WRITES}).scalars())
    if writable:
        shown = ", ".join(writable[:5]) + (f" and {len(writable) - 5} more" if len(writable) > 5 else "")
        raise WritableDatabaseRole(
            f"database role {role!r} can change tables the API only reads ({shown}); "
            "set SERVICEMAP_API_DATABASE_URL to the read-only role created by the migrations "
            "(SERVICEMAP_READER_ROLE, default 'servicemap_reader')"
        )


class SecuritySettingsError(ValueError):
    """A security setting (CORS origin, rate limit) that the API cannot start with."""


class SecuritySettings(BaseModel):
    """Who may call the API from a browser, and how fast one client may call it."""

    model_config = ConfigDict(frozen=True)

    cors_origins: tuple[str, ...] = ()
    requests_per_second: float = Field(DEFAULT_REQUESTS_PER_SECOND, gt=0)
    burst: int = Field(DEFAULT_BURST, ge=1)

    @classmethod
    def from_env(
        cls, cors_origins: Sequence[str] = (), environ: Mapping[str, str] | None = None
    ) -> SecuritySettings:
        """Settings from SERVICEMAP_RATE_LIMIT_PER_SECOND and SERVICEMAP_RATE_LIMIT_BURST, the
        defaults where unset; every bad value is named at once."""
        environ = os.environ if environ is None else environ
        problems = [f"CORS origin {o!r}: {why}" for o in cors_origins if (why := _origin_problem(o))]
        values: dict[str, float | int] = {}
        for variable, field, kind, minimum in (
            ("SERVICEMAP_RATE_LIMIT_PER_SECOND", "requests_per_second", float, "a number above 0"),
            ("SERVICEMAP_RATE_LIMIT_BURST", "burst", int, "a whole number of at least 1"),
        ):
            raw = environ.get(variable)
            if raw is None:
                continue
            try:
                value = kind(raw)
            except ValueError:
                value = None
            if value is None or not math.isfinite(value) or value <= 0:
                problems.append(f"{variable}={raw!r}: expected {minimum}")
            else:
                values[field] = value
        if problems:
            raise SecuritySettingsError("; ".join(problems))
        return cls(cors_origins=tuple(cors_origins), **values)


def _origin_problem(origin: str) -> str | None:
    """Why `origin` is no browser origin ('https://huisarts.example.nl'), or None when it is."""
    if origin == "*":
        return "any origin ('*') is not allowed; name each site that may call the API"
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return "expected scheme and host, e.g. 'https://huisarts.example.nl'"
    if parts.path or parts.query or parts.fragment or "@" in parts.netloc:
        return "an origin is scheme and host only (no path, query or user)"
    return None


def add_security(app: FastAPI, settings: SecuritySettings) -> None:
    """Wrap `app`: security headers outermost (so a 429 and a preflight carry them), then CORS
    (so a browser can read a 429), then the rate limit."""
    app.add_middleware(RateLimit, requests_per_second=settings.requests_per_second, burst=settings.burst)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins), allow_methods=["GET"])
    app.add_middleware(SecurityHeaders, docs_path=app.docs_url)


class SecurityHeaders:
    """Adds SECURITY_HEADERS to every HTTP response that does not set its own."""

    def __init__(self, app: ASGIApp, docs_path: str | None = None) -> None:
        self.app = app
        self.docs_path = docs_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == self.docs_path:
            await self._docs(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _docs(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The docs page is held until its end, to allow exactly the inline script it has."""
        messages: list[Message] = []

        async def hold(message: Message) -> None:
            messages.append(message)

        await self.app(scope, receive, hold)
        body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
        hashes = " ".join(
            "'sha256-" + base64.b64encode(hashlib.sha256(script).digest()).decode() + "'"
            for script in _INLINE_SCRIPT.findall(body)
        )
        policy = (
            f"default-src 'self'; script-src 'self' {DOCS_CDN} {hashes}; style-src 'self' {DOCS_CDN}; "
            "img-src 'self' data: https://fastapi.tiangolo.com; object-src 'none'; frame-ancestors 'none'"
        )
        start = next(m for m in messages if m["type"] == "http.response.start")
        headers = MutableHeaders(scope=start)
        headers.update({**SECURITY_HEADERS, "Content-Security-Policy": policy})
        await send(start)
        await send({"type": "http.response.body", "body": body})


class ClientBuckets:
    """One token bucket per client: `burst` requests at once, refilled at `requests_per_second`.

    The least recently seen client is forgotten beyond `max_clients` (it starts again with a
    full bucket), so that many addresses cannot fill the server's memory.
    """

    def __init__(self, requests_per_second: float, burst: int, max_clients: int = MAX_TRACKED_CLIENTS):
        self.rate = requests_per_second
        self.burst = burst
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, client: str, now: float) -> float:
        """Take a token for `client` at `now` (seconds); 0 when it may go ahead, else the
        seconds until its next token."""
        tokens, then = self._buckets.pop(client, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + max(0.0, now - then) * self.rate)
        allowed = tokens >= 1.0
        self._buckets[client] = (tokens - 1.0 if allowed else tokens, now)
        if len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)
        return 0.0 if allowed else (1.0 - tokens) / self.rate


class RateLimit:
    """Answers 429 with Retry-After and a JSON message to a client over its budget.

    The client is the connection's address: behind a proxy, run uvicorn with
    --forwarded-allow-ips so that it is the caller's, not the proxy's. The budget is per
    server process.
    """

    def __init__(
        self,
        app: ASGIApp,
        requests_per_second: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.buckets = ClientBuckets(requests_per_second, burst)
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = scope["client"][0] if scope.get("client") else "unknown"
        wait = self.buckets.take(client, self.clock())
        if not wait:
            await self.app(scope, receive, send)
            return
        retry_after = max(1, math.ceil(wait))
        body = json.dumps(
            {
                "detail": (
                    f"too many requests from {client}: at most {self.buckets.burst} at once and "
                    f"{self.buckets.rate:g} per second; retry after {retry_after} s"
                )
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 429,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(retry_after).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
