from __future__ import annotations

import re

from servicemap.extract.html import extract_with_selectors
from servicemap_crawlers.spiders.base import SourceSpider


class HtmlSpider(SourceSpider):
    """Any site: follows its links and reads service pages with the source's selectors."""

    name = "html"

    def parse(self, response):
        pattern = self.source.service_pages
        if pattern is None or re.search(pattern, response.url):
            yield from self.extracted(
                response, lambda text: extract_with_selectors(text, response.url, self.source.selectors)
            )
        yield from self.follow_links(response, callback=self.parse)
