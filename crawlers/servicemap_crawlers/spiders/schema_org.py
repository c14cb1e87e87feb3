from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from scrapy.utils.sitemap import Sitemap

from servicemap.extract.schema_org import extract_services
from servicemap.urls import InvalidURL, canonicalize_url
from servicemap_crawlers.spiders.base import SourceSpider


class SchemaOrgSpider(SourceSpider):
    """Pages with schema.org data, found through links and each site's sitemap.xml."""

    name = "schema_org"

    async def start(self):
        async for request in super().start():
            yield request
        for root in dict.fromkeys(urlsplit(u)[:2] for u in self.start_urls):
            sitemap = self.budgeted_request(
                urlunsplit((*root, "/sitemap.xml", "", "")), callback=self.parse_sitemap
            )
            if sitemap is not None:
                yield sitemap

    def parse(self, response):
        yield from self.extracted(response, lambda text: extract_services(text, page_url=response.url))
        yield from self.follow_links(response, callback=self.parse)

    def parse_sitemap(self, response):
        """Page URLs from a sitemap (or nested sitemaps from a sitemap index), under the follow rules."""
        try:
            sitemap = Sitemap(response.body)
        except Exception as exc:  # lxml raises several unrelated types on a broken sitemap
            self.record_extraction_error(response.url, f"{response.url}: unreadable sitemap ({exc})")
            return
        callback = self.parse_sitemap if sitemap.type == "sitemapindex" else self.parse
        for entry in sitemap:
            try:
                url = canonicalize_url(entry.get("loc", ""))
            except InvalidURL:
                continue
            if self.wants(url) or callback == self.parse_sitemap and self.on_site(url):
                request = self.budgeted_request(url, callback=callback)
                if request is not None:
                    yield request
