"""Running a source's crawl in a subprocess and reading what it wrote."""

from servicemap.crawl.fetches import FetchRecord
from servicemap.crawl.runner import CrawlResult, crawl_source, read_jsonl

__all__ = ["CrawlResult", "FetchRecord", "crawl_source", "read_jsonl"]
