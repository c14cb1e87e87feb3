"""URL canonicalisation: one page, one URL, so that it is fetched once and merged by identity."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

_TRACKING_PARAM = re.compile(
    r"^(utm_[a-z_]+|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|_ga|_gl|igshid|yclid|"
    r"sessionid|session_id|jsessionid|phpsessid|sid|aspsessionid[a-z]*)$",
    re.IGNORECASE,
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


class InvalidURL(ValueError):
    """A value that cannot be read as an http(s) URL."""


def canonicalize_url(url: str, base: str | None = None) -> str:
    """The one form of a URL: scheme added, host lowercased, default port, fragment and
    tracking or session parameters dropped, remaining parameters sorted.

    >>> canonicalize_url("HTTPS://Example.nl:443/a/?utm_source=x&b=2&a=1#top")
    'https://example.nl/a/?a=1&b=2'
    """
    text = url.strip()
    if base is not None:
        text = urljoin(base, text)
    elif "://" not in text and not text.startswith("//"):
        text = "https://" + text
    elif text.startswith("//"):
        text = "https:" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise InvalidURL(f"{url!r} is not a URL ({exc})") from None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in _DEFAULT_PORTS or not host or " " in host:
        raise InvalidURL(f"{url!r} is not an http(s) URL")
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    query = urlencode(
        sorted(
            (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING_PARAM.match(k)
        )
    )
    return urlunsplit((scheme, netloc, parts.path or "/", query, ""))


def url_fingerprint(url: str) -> str:
    """What makes two URLs the same page: the canonical form without a trailing slash."""
    canonical = urlsplit(canonicalize_url(url))
    path = canonical.path.rstrip("/") or "/"
    return urlunsplit((canonical.scheme, canonical.netloc, path, canonical.query, ""))


def page_key(url: str) -> str:
    """A page's record key within its source: path and query of the canonical URL, no host or
    port, so that it is the same wherever the site is served.

    >>> page_key("http://127.0.0.1:8123/activiteiten/buurtcentrum/?utm_medium=email#contact")
    '/activiteiten/buurtcentrum/'
    """
    canonical = urlsplit(canonicalize_url(url))
    return canonical.path + (f"?{canonical.query}" if canonical.query else "")
