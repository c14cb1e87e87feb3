"""Request identity for the dupefilter and the HTTP cache, built on `url_fingerprint`."""

from __future__ import annotations

import hashlib

from scrapy import Request

from servicemap.urls import InvalidURL, url_fingerprint


class CanonicalUrlFingerprinter:
    """Two requests are one when method, canonical URL and body are the same: '?utm_source=x',
    '#contact' or a trailing slash do not make a new page."""

    @classmethod
    def from_crawler(cls, crawler) -> CanonicalUrlFingerprinter:
        return cls()

    def fingerprint(self, request: Request) -> bytes:
        try:
            identity = url_fingerprint(request.url)
        except InvalidURL:
            identity = request.url
        digest = hashlib.sha1(request.method.encode())
        digest.update(b"\0" + identity.encode() + b"\0" + request.body)
        return digest.digest()
