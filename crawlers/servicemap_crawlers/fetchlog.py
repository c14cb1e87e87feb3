"""Every fetch, failed fetch and unreadable page as one JSON line, so that a crawl's outcome
can be read without its log."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    NotConfigured,
    ResponseDataLossError,
)
from scrapy.http import Response
from twisted.internet import error as twisted_errors

from servicemap.crawl.fetches import FetchRecord
from servicemap_crawlers.httpcache import NOT_MODIFIED

# Sent by a spider about a page it could not use (kwargs: url, kind, message), e.g. an
# unreadable page ("extraction_error") or one left out at the source's page limit ("page_limit").
page_problem = object()

_STARTED = "servicemap_fetch_started"


class FetchLogMiddleware:
    """Writes `FetchRecord` lines to the path in the SERVICEMAP_FETCH_LOG setting."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("a", encoding="utf-8")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FetchLogMiddleware:
        path = crawler.settings.get("SERVICEMAP_FETCH_LOG")
        if not path:
            raise NotConfigured("SERVICEMAP_FETCH_LOG is not set")
        middleware = cls(Path(path))
        crawler.signals.connect(middleware.page_problem, signal=page_problem)
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    def process_request(self, request: Request) -> None:
        request.meta[_STARTED] = time.monotonic()

    def process_response(self, request: Request, response: Response) -> Response:
        """Log the site's answer: a page confirmed unchanged is a 304 of no bytes, though the
        spider gets the cached page."""
        not_modified = request.meta.get(NOT_MODIFIED, False)
        status = 304 if not_modified else response.status
        kind = "http_5xx" if status >= 500 else "http_4xx" if status >= 400 else None
        self._write(
            FetchRecord(
                url=response.url,
                fetched_at=datetime.now(UTC),
                status=status,
                bytes=0 if not_modified else len(response.body),
                duration_ms=self._duration(request),
                cached="cached" in response.flags,
                error_kind=kind,
                error=f"HTTP {status}" if kind else None,
            )
        )
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        kind = error_kind(exception)
        self._write(
            FetchRecord(
                url=request.url,
                fetched_at=datetime.now(UTC),
                duration_ms=self._duration(request),
                error_kind=kind,
                error=f"{type(exception).__name__}: {exception}".strip().rstrip(":"),
            )
        )

    def page_problem(self, url: str, kind: str, message: str) -> None:
        self._write(FetchRecord(url=url, fetched_at=datetime.now(UTC), error_kind=kind, error=message))

    def spider_closed(self) -> None:
        self._file.close()

    def _write(self, record: FetchRecord) -> None:
        self._file.write(record.model_dump_json() + "\n")
        self._file.flush()

    @staticmethod
    def _duration(request: Request) -> float | None:
        started = request.meta.get(_STARTED)
        return round((time.monotonic() - started) * 1000, 1) if started is not None else None


def error_kind(exception: Exception) -> str:
    """The kind of a failed download, as the fetch log and the crawl summary count it."""
    if isinstance(exception, IgnoreRequest):
        text = str(exception).lower()
        return "robots_forbidden" if "robots" in text else "offsite" if "offsite" in text else "other"
    if isinstance(exception, (DownloadTimeoutError, twisted_errors.TimeoutError, TimeoutError)):
        return "timeout"
    if isinstance(exception, (CannotResolveHostError, twisted_errors.DNSLookupError)):
        return "dns"
    if isinstance(exception, DownloadCancelledError):
        return "too_large"
    if isinstance(exception, ResponseDataLossError):
        return "truncated"
    if isinstance(
        exception,
        (
            DownloadConnectionRefusedError,
            DownloadFailedError,  # e.g. a connection reset in the middle of an answer
            twisted_errors.ConnectError,
            twisted_errors.ConnectionLost,
            ConnectionError,
        ),
    ):
        return "connection"
    return "other"
