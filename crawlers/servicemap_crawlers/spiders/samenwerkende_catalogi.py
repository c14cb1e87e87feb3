from __future__ import annotations

from servicemap.extract import ExtractionError
from servicemap.extract.samenwerkende_catalogi import extract_products
from servicemap_crawlers.spiders.base import SourceSpider


class SamenwerkendeCatalogiSpider(SourceSpider):
    """A Samenwerkende Catalogi feed, or the national SC search service's paged SRU answers."""

    name = "samenwerkende_catalogi"

    def parse(self, response):
        try:
            page = extract_products(response.body, response.url)
        except ExtractionError as exc:
            self.record_extraction_error(response.url, str(exc))
            return
        for fields in page.products:
            yield self.raw_record(response.url, fields)
        if page.next_url:
            request = self.budgeted_request(page.next_url, callback=self.parse)
            if request is not None:
                yield request
