"""A static test web server on 127.0.0.1 (port 0) over `tests/fixtures/sites/<site>/` that
records every path asked for, so crawl tests can assert what was fetched.

Files are looked up as the path, the path + '.json', or the path's 'index.html'; a query string
picks '<path>@<query>' (e.g. 'api/services@page=2.json'). In text files '@@ORIGIN@@' becomes the
server's own origin and '@@OFFSITE@@' the same server under another host name ('localhost'),
which a crawl must treat as another site. Files are served with an ETag and answer a
matching If-None-Match with 304, as a site does for a re-crawl. A test can make a path fail:
answer with an error status, stall, cut the body short, or serve another body in its place."""

from __future__ import annotations

import hashlib
import mimetypes
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

SITES = Path(__file__).parent / "fixtures" / "sites"
_TYPES = {".json": "application/json", ".xml": "application/xml", ".html": "text/html", ".txt": "text/plain"}


class SiteServer:
    """`with SiteServer("brederwijk", statuses={"/storing.html": 500}) as site: site.url("/")`."""

    def __init__(
        self,
        site: str,
        statuses: dict[str, int] | None = None,
        stalls: dict[str, float] | None = None,
        truncated: set[str] | None = None,
        bodies: dict[str, tuple[str, bytes]] | None = None,
    ):
        self.root = SITES / site
        self.statuses = statuses or {}
        self.stalls = stalls or {}  # path -> seconds to wait before answering (a hanging page)
        self.truncated = truncated or set()  # paths whose body stops halfway, then the connection closes
        self.bodies = bodies or {}  # path -> (content type, body) served with 200 instead of the file
        self.requests: list[str] = []
        self.request_times: list[tuple[str, float]] = []  # (path, monotonic seconds) per request
        self.conditional: list[tuple[str, str | None]] = []  # (path, If-None-Match sent) per file served
        self.answers: list[tuple[str, int]] = []  # (path, status) per answer sent
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = self._server.server_address[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return self.origin + path

    def requested(self, path: str) -> int:
        """How many times a path (with its query, as sent) was asked for."""
        with self._lock:
            return self.requests.count(path)

    def __enter__(self) -> SiteServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                with server._lock:
                    server.requests.append(self.path)
                    server.request_times.append((self.path, time.monotonic()))
                parts = urlsplit(self.path)
                if parts.path in server.stalls:
                    time.sleep(server.stalls[parts.path])
                status = server.statuses.get(parts.path)
                if status is not None:
                    self._send(status, b"<html><body>Storing</body></html>", "text/html")
                    return
                if parts.path in server.bodies:
                    content_type, replacement = server.bodies[parts.path]
                    self._send(200, replacement, content_type)
                    return
                file = server._find(unquote(parts.path), parts.query)
                if file is None:
                    self._send(404, b"<html><body>Niet gevonden</body></html>", "text/html")
                    return
                body = file.read_bytes()
                content_type = _content_type(file)
                if content_type.startswith(("text/", "application/json", "application/xml")):
                    body = body.replace(b"@@ORIGIN@@", server.origin.encode())
                    body = body.replace(b"@@OFFSITE@@", f"http://localhost:{server.port}".encode())
                etag = f'"{hashlib.sha1(body).hexdigest()[:16]}"'
                with server._lock:
                    server.conditional.append((self.path, self.headers.get("If-None-Match")))
                if self.headers.get("If-None-Match") == etag:
                    server._answered(self.path, 304)
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                if parts.path in server.truncated:
                    self._send(200, body, content_type, etag, cut=len(body) // 2)
                    return
                self._send(200, body, content_type, etag)

            def _send(
                self,
                status: int,
                body: bytes,
                content_type: str,
                etag: str | None = None,
                cut: int | None = None,
            ) -> None:
                """Answer with `body`; with `cut`, announce all of it but send only that many bytes."""
                server._answered(self.path, status)
                self.send_response(status)
                if etag:
                    self.send_header("ETag", etag)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                try:
                    self.end_headers()
                    self.wfile.write(body if cut is None else body[:cut])
                except (ConnectionResetError, BrokenPipeError):
                    pass  # the crawler gave up waiting (a timeout test): nobody to answer
                if cut is not None:
                    self.close_connection = True

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                """Quiet: the recorded paths are the log."""

        return Handler

    def _answered(self, path: str, status: int) -> None:
        with self._lock:
            self.answers.append((path, status))

    def _find(self, path: str, query: str) -> Path | None:
        relative = path.lstrip("/")
        names = [f"{relative}@{query}", relative] if query else [relative]
        candidates = [
            c for n in names for c in (self.root / n, self.root / f"{n}.json", self.root / n / "index.html")
        ]
        for candidate in candidates:
            resolved = candidate.resolve()
            if resolved.is_file() and resolved.is_relative_to(self.root.resolve()):
                return resolved
        return None


def _content_type(file: Path) -> str:
    """By the file's own suffix, before any '@query' part of its name."""
    for suffix in (Path(file.name.split("@")[0]).suffix, file.suffix):
        if suffix in _TYPES:
            return _TYPES[suffix]
    return mimetypes.guess_type(file.name)[0] or "text/plain"


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
