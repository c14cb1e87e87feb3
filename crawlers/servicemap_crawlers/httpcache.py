"""The HTTP cache policy of a re-crawl: always ask the site, conditionally."""

from __future__ import annotations

from scrapy import Request
from scrapy.extensions.httpcache import RFC2616Policy
from scrapy.http import Response

# Set on a request whose cached page the site confirmed with 304: the cache middleware hands the
# cached 200 on, and the fetch log needs to know what the site really answered.
NOT_MODIFIED = "servicemap_not_modified"


class RevalidatingPolicy(RFC2616Policy):
    """RFC 2616 caching, except that a cached page is never used unasked and a server error
    never stands in for the page: a service's verification date must come from a site that
    answered (200, or 304 Not Modified to If-None-Match / If-Modified-Since)."""

    def is_cached_response_fresh(self, cachedresponse: Response, request: Request) -> bool:
        if b"Last-Modified" in cachedresponse.headers:
            request.headers[b"If-Modified-Since"] = cachedresponse.headers[b"Last-Modified"]
        if b"ETag" in cachedresponse.headers:
            request.headers[b"If-None-Match"] = cachedresponse.headers[b"ETag"]
        return False

    def is_cached_response_valid(
        self, cachedresponse: Response, response: Response, request: Request
    ) -> bool:
        if response.status == 304:
            request.meta[NOT_MODIFIED] = True
            return True
        return False
