"""Answers Scrapy refuses after the download, recorded in the fetch log: its own middlewares
drop them in `process_response`, where the fetch log never sees them, or (a redirect back to a
page already fetched, or off the site) let the scheduler drop them without a word."""

from __future__ import annotations

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.downloadermiddlewares.redirect import RedirectMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response

from servicemap.urls import url_fingerprint
from servicemap_crawlers.fetchlog import page_problem


def _record(crawler: Crawler, request: Request, kind: str, message: str) -> None:
    """Record against the URL the spider asked for, the first of a redirect chain."""
    url = (request.meta.get("redirect_urls") or [request.url])[0]
    crawler.signals.send_catch_log(page_problem, url=url, kind=kind, message=message)


class RecordedRedirectMiddleware(RedirectMiddleware):
    """Scrapy's redirects, but a loop, a redirect off the source's site and too many
    redirects are recorded and refused rather than dropped silently."""

    def process_response(self, request: Request, response: Response, spider=None) -> Request | Response:
        try:
            outcome = super().process_response(request, response)
        except IgnoreRequest as exc:
            _record(self.crawler, request, "redirect", f"{request.url}: {exc} ({self.max_redirect_times})")
            raise
        if not isinstance(outcome, Request):
            return outcome
        chain = [*request.meta.get("redirect_urls", []), request.url]
        if url_fingerprint(outcome.url) in {url_fingerprint(u) for u in chain}:
            loop = " -> ".join([*chain, outcome.url])
            _record(self.crawler, request, "redirect", f"redirect loop: {loop}")
            raise IgnoreRequest(f"redirect loop: {loop}")
        on_site = getattr(self.crawler.spider, "on_site", None)
        if on_site is not None and not on_site(outcome.url):
            _record(
                self.crawler, request, "offsite", f"{request.url} redirects off the site to {outcome.url}"
            )
            raise IgnoreRequest(f"{request.url} redirects off the site to {outcome.url}")
        return outcome


class RecordedHttpCompressionMiddleware(HttpCompressionMiddleware):
    """Scrapy's decompression, which stops a body that unpacks beyond DOWNLOAD_MAXSIZE (a gzip
    bomb) as it unpacks; the refusal is recorded as too large."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RecordedHttpCompressionMiddleware:
        middleware = super().from_crawler(crawler)
        middleware.crawler = crawler
        return middleware

    def process_response(self, request: Request, response: Response, spider=None) -> Request | Response:
        try:
            return super().process_response(request, response)
        except IgnoreRequest as exc:
            _record(self.crawler, request, "too_large", str(exc))
            raise
