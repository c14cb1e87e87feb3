"""Serve the demo region's websites on 127.0.0.1, one server per site on a free port, so that
the real spiders crawl them as they would crawl the web: robots.txt, 404s, conditional
requests, a declared charset per page and the sociale kaart's HSDS API."""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from servicemap.demo.sites import BASE_URL, SITE_CHARSETS, SITE_OF_SOURCE, SITES_DIR

SOURCES_TEMPLATE = Path(__file__).parent / "sources.template.yaml"
LAST_MODIFIED = "Mon, 02 Mar 2026 09:00:00 GMT"
"""All demo pages claim the same modification time, so that a re-crawl can ask 'changed since?'."""

MAX_PER_PAGE = 100
_CONTENT_TYPES = {
    ".html": "text/html",
    ".xml": "application/xml",
    ".txt": "text/plain",
    ".json": "application/json",
}
_PLACEHOLDER = re.compile(r"\{site:([a-z0-9-]+)\}")


class UnknownSite(ValueError):
    """A `{site:<id>}` placeholder that names no demo site."""


class HsdsApi:
    """The sociale kaart's HSDS 3.0 API over its stored services: paginated list and by id."""

    def __init__(self, data_path: Path):
        self.services: list[dict] = json.loads(data_path.read_text(encoding="utf-8"))["services"]
        self.by_id = {s["id"]: s for s in self.services}

    def page(self, page: int, per_page: int) -> dict:
        total = len(self.services)
        total_pages = math.ceil(total / per_page)
        contents = [_summary(s) for s in self.services[(page - 1) * per_page : page * per_page]]
        return {
            "total_items": total,
            "total_pages": total_pages,
            "page_number": page,
            "size": len(contents),
            "first_page": page == 1,
            "last_page": page >= total_pages,
            "empty": not contents,
            "contents": contents,
        }


def _summary(service: dict) -> dict:
    """A service in a list page: its own fields without the nested objects, as HSDS lists do."""
    return {k: v for k, v in service.items() if not isinstance(v, list | dict)} | {
        "organization": {"id": service["organization"]["id"], "name": service["organization"]["name"]}
    }


class _SiteHandler(BaseHTTPRequestHandler):
    root: Path
    charset: str
    base_url: str
    api: HsdsApi | None
    server_version = "LindewaardDemo/1.0"

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: tests and crawls would drown in access lines."""

    def do_HEAD(self) -> None:
        self._respond(head=True)

    def do_GET(self) -> None:
        self._respond(head=False)

    def _respond(self, head: bool) -> None:
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        if self.api is not None and (path == "/services" or path.startswith("/services/")):
            status, body = _api_response(self.api, path, parse_qs(parts.query))
            self._send(status, body, "application/json; charset=utf-8", head)
            return
        file = self._file(path)
        if file is None:
            body = b"<!DOCTYPE html><html><head><meta charset='utf-8'><title>404</title></head>"
            body += b"<body><h1>Pagina niet gevonden</h1></body></html>"
            self._send(404, body, "text/html; charset=utf-8", head)
            return
        body = file.read_bytes().replace(BASE_URL.encode(), self.base_url.encode())
        content_type = _CONTENT_TYPES.get(file.suffix, "application/octet-stream")
        charset = self.charset if file.suffix == ".html" else "utf-8"
        self._send(200, body, f"{content_type}; charset={charset}", head)

    def _file(self, path: str) -> Path | None:
        """The file for a URL path: '/a/' and '/a' serve 'a/index.html', '/a' also 'a.html'
        (clean URLs without a redirect, as many CMSs do)."""
        relative = path.lstrip("/")
        if self.api is not None and relative == "hsds.json":
            return None
        candidate = (self.root / relative).resolve()
        if not candidate.is_relative_to(self.root):
            return None
        options = [candidate / "index.html"] if path.endswith("/") else [candidate, candidate / "index.html"]
        if not path.endswith("/"):
            options.append(candidate.with_name(candidate.name + ".html"))
        return next((option for option in options if option.is_file()), None)

    def _send(self, status: int, body: bytes, content_type: str, head: bool) -> None:
        etag = f'"{hashlib.sha1(body).hexdigest()[:20]}"'
        if status == 200 and self._not_modified(etag):
            self.send_response(304)
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", LAST_MODIFIED)
            self.end_headers()
            return
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if status == 200:
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", LAST_MODIFIED)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _not_modified(self, etag: str) -> bool:
        if_none_match = self.headers.get("If-None-Match")
        if if_none_match is not None:
            tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
            return etag in tags or "*" in tags
        if_modified_since = self.headers.get("If-Modified-Since")
        if if_modified_since:
            try:
                return parsedate_to_datetime(if_modified_since) >= parsedate_to_datetime(LAST_MODIFIED)
            except (TypeError, ValueError):
                return False
        return False


def _api_response(api: HsdsApi, path: str, query: dict[str, list[str]]) -> tuple[int, bytes]:
    if path == "/services":
        try:
            page = int(query.get("page", ["1"])[0])
            per_page = int(query.get("per_page", ["50"])[0])
        except ValueError:
            return _json_error(400, "page and per_page must be whole numbers")
        if page < 1 or not 1 <= per_page <= MAX_PER_PAGE:
            return _json_error(400, f"page must be >= 1 and per_page between 1 and {MAX_PER_PAGE}")
        return 200, _json(api.page(page, per_page))
    service_id = path.removeprefix("/services/")
    service = api.by_id.get(service_id)
    if service is None:
        return _json_error(404, f"no service with id {service_id!r}")
    return 200, _json(service)


def _json(data: dict) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode("utf-8")


def _json_error(status: int, message: str) -> tuple[int, bytes]:
    return status, _json({"error": message})


@contextmanager
def serve_region(sites_dir: Path | str | None = None) -> Iterator[dict[str, str]]:
    """Serve every demo site; yield {source id: base URL} ('http://127.0.0.1:<port>', no
    trailing slash). Sources that share a site (Brederwijk and its SC feed) share a server."""
    sites_dir = Path(sites_dir or SITES_DIR).resolve()
    servers: dict[str, ThreadingHTTPServer] = {}
    try:
        for site in sorted(set(SITE_OF_SOURCE.values())):
            root = sites_dir / site
            if not root.is_dir():
                raise FileNotFoundError(
                    f"demo site {site!r}: no directory {root} (run python -m servicemap.demo.sites)"
                )
            handler = type(
                f"Handler_{site}",
                (_SiteHandler,),
                {
                    "root": root,
                    "charset": SITE_CHARSETS.get(site, "utf-8"),
                    "base_url": "",
                    "api": HsdsApi(root / "hsds.json") if (root / "hsds.json").is_file() else None,
                },
            )
            server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
            server.daemon_threads = True
            handler.base_url = f"http://127.0.0.1:{server.server_address[1]}"
            servers[site] = server
            threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"demo-{site}", daemon=True
            ).start()
        yield {
            source_id: servers[site].RequestHandlerClass.base_url
            for source_id, site in SITE_OF_SOURCE.items()
        }
    finally:
        for server in servers.values():
            server.shutdown()
            server.server_close()


def render_sources(base_urls: dict[str, str], template: Path | str | None = None) -> str:
    """The demo `sources.yaml`: the template with each `{site:<source id>}` set to its base URL."""
    text = Path(template or SOURCES_TEMPLATE).read_text(encoding="utf-8")

    def replace(match: re.Match[str]) -> str:
        source_id = match.group(1)
        if source_id not in base_urls:
            raise UnknownSite(
                f"{{site:{source_id}}}: no served site {source_id!r} (known: {sorted(base_urls)})"
            )
        return base_urls[source_id].rstrip("/")

    return _PLACEHOLDER.sub(replace, text)


def main() -> None:
    """Serve the region until interrupted and print the sources file that crawls it."""
    with serve_region() as base_urls:
        print(render_sources(base_urls))
        with suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
