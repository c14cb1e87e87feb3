from __future__ import annotations

from urllib.parse import urlsplit

from servicemap.extract import ExtractionError
from servicemap.extract.hsds import extract_service, parse_service_list
from servicemap.extract.hsds_tabular import extract_tabular_services, package_tables
from servicemap_crawlers.spiders.base import SourceSpider


class HsdsApiSpider(SourceSpider):
    """An HSDS 3.x API (pages through `/services`, fetches each full service), or an HSDS
    1.x/2.0 tabular package when the start URL is its datapackage.json."""

    name = "hsds_api"

    def parse(self, response):
        if urlsplit(response.url).path.endswith("datapackage.json"):
            yield from self.parse_package(response)
            return
        try:
            listing = parse_service_list(response.text, response.url)
        except ExtractionError as exc:
            self.record_extraction_error(response.url, str(exc))
            return
        for url in listing.service_urls:
            request = self.budgeted_request(url, callback=self.parse_service)
            if request is not None:
                yield request
        if listing.next_url:
            request = self.budgeted_request(listing.next_url, callback=self.parse)
            if request is not None:
                yield request

    def parse_service(self, response):
        yield from self.extracted(response, lambda text: extract_service(text, response.url))

    def parse_package(self, response):
        try:
            tables = package_tables(response.text, response.url)
        except ExtractionError as exc:
            self.record_extraction_error(response.url, str(exc))
            return
        yield from self.next_table(package_url=response.url, pending=list(tables.items()), fetched={})

    def next_table(self, package_url: str, pending: list[tuple[str, str]], fetched: dict[str, str]):
        """Fetch the package's tables one after another; with the last one, extract the services."""
        while pending:
            name, url = pending[0]
            pending = pending[1:]
            state = {"package_url": package_url, "pending": pending, "fetched": fetched, "name": name}
            request = self.budgeted_request(
                url, callback=self.parse_table, errback=self.table_failed, cb_kwargs=state
            )
            if request is not None:
                yield request
                return
        try:
            services = extract_tabular_services(fetched, package_url)
        except ExtractionError as exc:
            self.record_extraction_error(package_url, str(exc))
            return
        for fields in services:
            yield self.raw_record(package_url, fields)

    def parse_table(self, response, package_url, pending, fetched, name):
        yield from self.next_table(package_url, pending, {**fetched, name: response.text})

    def table_failed(self, failure):
        """A table that could not be fetched (already in the fetch log) is left out; the rest still count."""
        state = failure.request.cb_kwargs
        yield from self.next_table(state["package_url"], state["pending"], state["fetched"])
