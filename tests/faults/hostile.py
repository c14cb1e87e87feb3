"""A hostile web server on 127.0.0.1 (port 0): every way a crawled site can go wrong, one
site per fault under `/f/<site>/`, each next to a good page of its own.

Large answers are streamed from a small buffer and stop when the crawler hangs up, so the
server never holds 200 MB either; `sent(path)` tells how many body bytes actually left.
Services, organisations, addresses and phone numbers are fictional (the place Vechtmond
does not exist)."""

from __future__ import annotations

import contextlib
import io
import json
import socket
import struct
import threading
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

MB = 1024 * 1024
HUGE_BODY = 200 * MB
_CHUNK = b"\0" * (64 * 1024)


@dataclass(frozen=True)
class Service:
    """A fictional service as a site's schema.org JSON-LD describes it."""

    name: str
    organization: str
    description: str
    street: str
    postcode: str
    phone: str
    city: str = "Vechtmond"

    def json_ld(self) -> dict:
        return {
            "@context": "https://schema.org",
            "@type": "GovernmentService",
            "name": self.name,
            "description": self.description,
            "provider": {"@type": "Organization", "name": self.organization},
            "areaServed": self.city,
            "availableChannel": {
                "@type": "ServiceChannel",
                "serviceLocation": {
                    "@type": "Place",
                    "name": self.organization,
                    "address": {
                        "@type": "PostalAddress",
                        "streetAddress": self.street,
                        "postalCode": self.postcode,
                        "addressLocality": self.city,
                    },
                    "telephone": self.phone,
                },
            },
        }


def service_page(*services: Service, charset: str | None = "utf-8", script: str | None = None) -> str:
    """A page with one JSON-LD block per service; `script` replaces the blocks' text."""
    meta = f'<meta charset="{charset}">' if charset else ""
    blocks = [json.dumps(s.json_ld(), ensure_ascii=False) for s in services] if script is None else [script]
    scripts = "".join(f'<script type="application/ld+json">{b}</script>' for b in blocks)
    title = services[0].name if services else "Dienst"
    return (
        f'<!DOCTYPE html><html lang="nl"><head>{meta}<title>{title}</title>{scripts}</head>'
        f"<body><h1>{title}</h1></body></html>"
    )


def index_page(links: list[str]) -> str:
    items = "".join(f'<li><a href="{href}">{href}</a></li>' for href in links)
    head = '<head><meta charset="utf-8"><title>Aanbod</title></head>'
    return f'<!DOCTYPE html><html lang="nl">{head}<body><ul>{items}</ul></body></html>'


def sc_feed(body: str, doctype: str = "") -> bytes:
    """A Samenwerkende Catalogi feed with `body` as the title of its one product."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"{doctype}"
        '<overheidproduct:scproducten xmlns:overheidproduct="http://standaarden.overheid.nl/product/terms/" '
        'xmlns:dcterms="http://purl.org/dc/terms/"><overheidproduct:scproduct owms-version="4.0">'
        "<overheidproduct:meta><overheidproduct:owmskern>"
        "<dcterms:identifier>https://www.vechtmond.example/producten/bijzondere-bijstand</dcterms:identifier>"
        f"<dcterms:title>{body}</dcterms:title>"
        "</overheidproduct:owmskern></overheidproduct:meta></overheidproduct:scproduct>"
        "</overheidproduct:scproducten>"
    ).encode()


BILLION_LAUGHS_DOCTYPE = (
    '<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{n} "{("&lol" + (str(n - 1) if n > 1 else "") + ";") * 10}">' for n in range(1, 10)
    )
    + "]>"
)
XXE_DOCTYPE = '<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'


@cache
def gzip_bomb() -> bytes:
    """200 MB of zeros gzipped to about 200 kB, compressed chunk by chunk (never 200 MB in memory)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: a gzip header and trailer
    out = io.BytesIO()
    for _ in range(HUGE_BODY // len(_CHUNK)):
        out.write(compressor.compress(_CHUNK))
    out.write(compressor.flush())
    return out.getvalue()


Route = Callable[["_Handler"], None]


class HostileServer:
    """`with HostileServer() as server: server.url("/f/traag/")`; routes are added by `route`."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: Counter[str] = Counter()
        self._sent: Counter[str] = Counter()
        self._lock = threading.Lock()
        self.closing = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        self.offsite_origin = f"http://localhost:{self.port}"  # the same server under another site's name
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self.route("/robots.txt", text("User-agent: *\nAllow: /\n", "text/plain"))
        self.route(
            "/sitemap.xml",
            text(
                '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"/>',
                "application/xml",
            ),
        )

    def route(self, path: str, answer: Route) -> None:
        self.routes[path] = answer

    def url(self, path: str) -> str:
        return self.origin + path

    def sent(self, path: str) -> int:
        """Body bytes written for `path` so far, over all its requests."""
        with self._lock:
            return self._sent[path]

    def count_sent(self, path: str, n: int) -> None:
        with self._lock:
            self._sent[path] += n

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.closing.set()
        self._server.shutdown()
        self._server.server_close()


class _Handler(BaseHTTPRequestHandler):
    hostile: HostileServer

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        path = urlsplit(self.path).path
        with self.hostile._lock:
            self.hostile.requests[path] += 1
        answer = self.hostile.routes.get(path)
        if answer is None:
            self.send_body(404, b"<html><body>Niet gevonden</body></html>", "text/html")
            return
        with contextlib.suppress(ConnectionResetError, BrokenPipeError):
            answer(self)  # suppressed: the crawler hung up, a size limit or a timeout did its work

    @property
    def request_number(self) -> int:
        """1 for the first request of this path, 2 for the second, ..."""
        with self.hostile._lock:
            return self.hostile.requests[urlsplit(self.path).path]

    def send_body(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
        self.hostile.count_sent(urlsplit(self.path).path, len(body))

    def stream_zeros(self, total: int, announce: bool) -> None:
        """`total` bytes from one 64 kB buffer, with or without a Content-Length."""
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        if announce:
            self.send_header("Content-Length", str(total))
        self.end_headers()
        path = urlsplit(self.path).path
        left = total
        while left > 0 and not self.hostile.closing.is_set():
            piece = _CHUNK[: min(left, len(_CHUNK))]
            self.wfile.write(piece)
            self.hostile.count_sent(path, len(piece))
            left -= len(piece)
        self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Quiet: the request counter is the log."""


def _handler_for(server: HostileServer) -> type[_Handler]:
    return type("HostileHandler", (_Handler,), {"hostile": server})


# --- Answers -------------------------------------------------------------------------------


def text(body: str, content_type: str = "text/html; charset=utf-8") -> Route:
    return lambda h: h.send_body(200, body.encode("utf-8"), content_type)


def raw(body: bytes, content_type: str, headers: dict[str, str] | None = None) -> Route:
    return lambda h: h.send_body(200, body, content_type, headers)


def status(code: int) -> Route:
    return lambda h: h.send_body(
        code, b"<html><body>Storing, probeer het later opnieuw</body></html>", "text/html"
    )


def burst(failures: int, then: Route) -> Route:
    """`failures` answers of 503, then `then`: a site that is down for a moment."""
    return lambda h: status(503)(h) if h.request_number <= failures else then(h)


def stall(seconds: float) -> Route:
    """No answer for `seconds` (until the server stops): the crawler's timeout must end it."""

    def answer(h: _Handler) -> None:
        h.hostile.closing.wait(seconds)

    return answer


def drip(body: bytes, interval: float) -> Route:
    """Headers at once, then the body one byte per `interval`: alive, but never done in time."""

    def answer(h: _Handler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/html; charset=utf-8")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        for byte in body:
            if h.hostile.closing.wait(interval):
                return
            h.wfile.write(bytes([byte]))
            h.wfile.flush()
            h.hostile.count_sent(urlsplit(h.path).path, 1)

    return answer


def reset(after: bytes = b"") -> Route:
    """Send `after` (e.g. half a status line), then a TCP reset instead of a clean close."""

    def answer(h: _Handler) -> None:
        if after:
            h.wfile.write(after)
            h.wfile.flush()
        h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        h.connection.close()
        h.close_connection = True

    return answer


def redirect(location: Callable[[_Handler], str], code: int = 302) -> Route:
    def answer(h: _Handler) -> None:
        h.send_response(code)
        h.send_header("Location", location(h))
        h.send_header("Content-Length", "0")
        h.end_headers()

    return answer


def huge(announce: bool) -> Route:
    """200 MB of zeros, streamed: with a Content-Length, or delimited by closing the connection."""
    return lambda h: h.stream_zeros(HUGE_BODY, announce)


def gzip_bombed() -> Route:
    return raw(gzip_bomb(), "text/html; charset=utf-8", {"Content-Encoding": "gzip"})
