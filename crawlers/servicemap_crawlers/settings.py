"""Defaults for every servicemap crawl; each spider overrides the politeness settings from its
source's `sources.yaml` entry (see `SourceSpider.from_crawler`)."""

BOT_NAME = "servicemap_crawlers"
SPIDER_MODULES = ["servicemap_crawlers.spiders"]
NEWSPIDER_MODULE = "servicemap_crawlers.spiders"

USER_AGENT = "servicemap/0.1 (+https://github.com/servicemap/servicemap)"
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 0.5
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
RETRY_ENABLED = True
RETRY_TIMES = 2
SERVICEMAP_RETRY_BACKOFF = 1.0  # seconds before the first retry; doubled for each next one
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False

# One page, one fetch: identity is servicemap.urls.url_fingerprint (tracking parameters,
# fragments and a trailing slash do not make a new page).
REQUEST_FINGERPRINTER_CLASS = "servicemap_crawlers.fingerprint.CanonicalUrlFingerprinter"

# Conditional requests on re-crawls; the runner turns the cache on under its work dir.
HTTPCACHE_POLICY = "servicemap_crawlers.httpcache.RevalidatingPolicy"
HTTPCACHE_IGNORE_HTTP_CODES = [500, 502, 503, 504, 408, 429]

# Engine side of RetryMiddleware (550): it sees each fetch's final outcome, not every retry.
DOWNLOADER_MIDDLEWARES = {
    "servicemap_crawlers.fetchlog.FetchLogMiddleware": 540,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "servicemap_crawlers.retry.BackoffRetryMiddleware": 550,
    # Scrapy's own, but what they refuse is recorded (a gzip bomb, a redirect loop or off-site).
    "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware": None,
    "servicemap_crawlers.refusals.RecordedHttpCompressionMiddleware": 590,
    "scrapy.downloadermiddlewares.redirect.RedirectMiddleware": None,
    "servicemap_crawlers.refusals.RecordedRedirectMiddleware": 600,
}

FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"
