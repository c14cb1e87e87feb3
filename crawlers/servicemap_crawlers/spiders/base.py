"""What every servicemap spider shares: its source from `sources.yaml`, the politeness and
page budget that come with it, link rules, and the raw-record items it yields."""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.crawler import Crawler
from scrapy.http import Response, TextResponse

from servicemap.extract import ExtractionError
from servicemap.records import RawFields, RawRecord
from servicemap.sources import load_sources
from servicemap.urls import InvalidURL, canonicalize_url, page_key, url_fingerprint
from servicemap_crawlers.fetchlog import page_problem

LINK_KINDS = frozenset({"schema_org", "html"})
# Charsets in which any byte is a character: a UTF-8 body read in one of them goes wrong silently.
_SINGLE_BYTE = frozenset({"ascii", "iso8859-1", "cp1252", "iso8859-15"})


class SourceSpider(scrapy.Spider):
    """Run with `-a sources=<sources.yaml> -a source=<id>`; the source's kind must be the spider's name."""

    def __init__(self, sources: str | None = None, source: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        if not sources or not source:
            raise ValueError(f"spider {self.name!r} needs -a sources=<path to sources.yaml> -a source=<id>")
        self.sources_file = load_sources(sources)
        self.source = self.sources_file.get(source)
        if self.source.kind != self.name:
            raise ValueError(f"source {source!r} is of kind {self.source.kind!r}, not {self.name!r}")
        self.allowed_domains = list(self.source.domains)
        self.start_urls = list(self.source.start_urls)
        self._allow = [re.compile(p) for p in self.source.follow.allow]
        self._deny = [re.compile(p) for p in self.source.follow.deny]
        self._budgeted: set[str] = set()
        self._limit_reported = False

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> SourceSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.settings.setdict(spider.source_settings(), priority="spider")
        return spider

    def source_settings(self) -> dict[str, Any]:
        """Politeness and bounds from `sources.yaml` (the settings are still open at this point)."""
        crawl = self.sources_file.crawl
        settings: dict[str, Any] = {
            "USER_AGENT": crawl.user_agent,
            "ROBOTSTXT_OBEY": crawl.obey_robots_txt,
            "AUTOTHROTTLE_ENABLED": crawl.autothrottle,
            "CONCURRENT_REQUESTS_PER_DOMAIN": crawl.concurrency_per_domain,
            "DOWNLOAD_DELAY": crawl.download_delay,
            "DOWNLOAD_TIMEOUT": crawl.timeout_seconds,
            "RETRY_TIMES": crawl.retry_times,
            "SERVICEMAP_RETRY_BACKOFF": crawl.retry_backoff_seconds,
            "DOWNLOAD_MAXSIZE": crawl.max_response_bytes,
            "DOWNLOAD_WARNSIZE": crawl.max_response_bytes // 2,
        }
        # Scrapy reads DEPTH_LIMIT 0 as "no limit"; max_depth 0 is enforced in `follow_links`.
        # API and feed kinds page through results, which is not depth, so they are not limited by it.
        if self.source.kind in LINK_KINDS and self.source.max_depth > 0:
            settings["DEPTH_LIMIT"] = self.source.max_depth
        return settings

    async def start(self):
        for url in self.start_urls:
            request = self.budgeted_request(url, callback=self.parse)
            if request is not None:
                yield request

    def budgeted_request(self, url: str, callback: Callable, **kwargs: Any) -> scrapy.Request | None:
        """A request for a page not asked for before, while the source's max_pages allows one more.

        Counting here, not with CLOSESPIDER_PAGECOUNT, keeps the limit exact: Scrapy's counter
        also counts robots.txt and retried responses."""
        fingerprint = url_fingerprint(url)
        if fingerprint in self._budgeted:
            return None
        if len(self._budgeted) >= self.source.max_pages:
            if not self._limit_reported:  # once: the operator needs to know the source was cut short
                self._limit_reported = True
                message = f"max_pages {self.source.max_pages} reached; this and later pages were not fetched"
                self.crawler.signals.send_catch_log(page_problem, url=url, kind="page_limit", message=message)
            return None
        self._budgeted.add(fingerprint)
        return scrapy.Request(canonicalize_url(url), callback=callback, **kwargs)

    def follow_links(self, response: Response, callback: Callable) -> Iterator[scrapy.Request]:
        """Links on this site that the source's follow rules allow, within max_depth."""
        if not isinstance(response, TextResponse) or response.meta.get("depth", 0) >= self.source.max_depth:
            return
        for href in response.css("a::attr(href), area::attr(href)").getall():
            try:
                url = canonicalize_url(href, base=response.url)
            except InvalidURL:
                continue  # mailto:, tel:, javascript: and the like
            if self.wants(url):
                request = self.budgeted_request(url, callback=callback)
                if request is not None:
                    yield request

    def wants(self, url: str) -> bool:
        if not self.on_site(url):
            self.crawler.stats.inc_value("servicemap/offsite_links_skipped")
            return False
        if self._allow and not any(p.search(url) for p in self._allow):
            return False
        return not any(p.search(url) for p in self._deny)

    def on_site(self, url: str) -> bool:
        host = urlsplit(url).hostname or ""
        return any(host == d or host.endswith("." + d) for d in self.allowed_domains)

    def extracted(self, response: Response, extract: Callable[[str], Iterable[RawFields]]) -> Iterator[dict]:
        """Raw-record items from `extract(text)`; a page it cannot read is recorded and skipped."""
        if not isinstance(response, TextResponse):
            self.record_extraction_error(response.url, f"{response.url}: not a text page")
            return
        text, problem = page_text(response)
        if problem is not None:
            self.logger.warning("charset: %s", problem)
            self.crawler.signals.send_catch_log(
                page_problem, url=response.url, kind="charset", message=problem
            )
        try:
            found = list(extract(text))
        except ExtractionError as exc:
            self.record_extraction_error(response.url, str(exc))
            return
        for fields in found:
            yield self.raw_record(response.url, fields)

    def raw_record(self, url: str, fields: RawFields) -> dict:
        """The item for one found service: the raw-record contract, keyed by the page when the
        extractor gave no key."""
        values = fields.model_dump(exclude_none=True)
        values.setdefault("key", page_key(url))
        record = RawRecord(
            **values,
            source_id=self.source.id,
            url=url,
            fetched_at=datetime.now(UTC),
            extraction=self.name,
        )
        return record.model_dump(mode="json")

    def record_extraction_error(self, url: str, message: str) -> None:
        self.logger.warning("extraction error: %s", message)
        self.crawler.stats.inc_value("servicemap/extraction_errors")
        self.crawler.signals.send_catch_log(page_problem, url=url, kind="extraction_error", message=message)


def page_text(response: TextResponse) -> tuple[str, str | None]:
    """The page's text, and a problem when its charset header or meta tag is wrong.

    A body that is valid UTF-8 and not plain ASCII is UTF-8, whatever single-byte charset the
    page declares: read as ISO-8859-1 it would publish 'CafÃ©' for 'Café'. Bytes of another
    charset are (practically) never valid UTF-8, so a right declaration is never overruled."""
    declared = codecs.lookup(response.encoding).name
    if declared in _SINGLE_BYTE and not response.body.isascii():
        try:
            text = response.body.decode("utf-8")
        except UnicodeDecodeError:
            return response.text, None
        return (
            text,
            f"{response.url}: declared charset {response.encoding!r}, but the body is UTF-8; read as UTF-8",
        )
    return response.text, None
