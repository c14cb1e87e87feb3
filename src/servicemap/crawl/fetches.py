"""One line of a crawl's fetch log: what was asked, what came back, what went wrong."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

ErrorKind = Literal[
    "timeout",
    "dns",
    "connection",
    "http_4xx",
    "http_5xx",
    "robots_forbidden",
    "offsite",
    "too_large",
    "truncated",
    "redirect",
    "charset",
    "extraction_error",
    "page_limit",
    "other",
]


class FetchRecord(BaseModel):
    """A fetch (or a page that could not be read): the evidence behind a crawl's counts."""

    url: str
    fetched_at: datetime
    status: int | None = None
    bytes: int = 0
    duration_ms: float | None = None
    cached: bool = False
    error_kind: ErrorKind | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error_kind is None
