"""Retries that back off: a site answering 5xx or timing out is struggling, and a polite
crawler gives it more air before each next try (1 s, 2 s, 4 s ... by default)."""

from __future__ import annotations

import asyncio

from scrapy import Request
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.http import Response
from scrapy.settings import BaseSettings


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's retry rules (RETRY_TIMES, RETRY_HTTP_CODES), with a pause of
    SERVICEMAP_RETRY_BACKOFF * 2**(n - 1) seconds before the n-th retry of a request."""

    def __init__(self, settings: BaseSettings):
        super().__init__(settings)
        self.backoff = settings.getfloat("SERVICEMAP_RETRY_BACKOFF")

    async def process_response(self, request: Request, response: Response) -> Request | Response:
        return await self._after_pause(super().process_response(request, response))

    async def process_exception(self, request: Request, exception: Exception) -> Request | Response | None:
        return await self._after_pause(super().process_exception(request, exception))

    async def _after_pause(self, outcome):
        if isinstance(outcome, Request) and self.backoff > 0:
            await asyncio.sleep(self.backoff * 2 ** (outcome.meta["retry_times"] - 1))
        return outcome
