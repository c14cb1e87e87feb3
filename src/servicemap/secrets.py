"""Secrets stay out of what people read: a database URL is shown only with its password hidden.

Database URLs come from the environment (SERVICEMAP_DATABASE_URL for the pipeline,
SERVICEMAP_API_DATABASE_URL for the API), never from a file in the repository; whatever
prints one, in an error, a log line or Dagster metadata, prints `redact_url(url)`.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

HIDDEN = "***"
# Query parameters libpq and its drivers accept a secret in, e.g. '?password=...'.
SECRET_PARAMETERS = frozenset({"password", "sslpassword", "passfile", "sslkey", "token", "secret"})


def redact_url(url: str) -> str:
    """`url` with the password and secret query values replaced by '***'.

    'postgresql://reader:s3cret@db:5432/sm?sslpassword=x' -> 'postgresql://reader:***@db:5432/sm?sslpassword=***'.
    Text that is no URL at all is hidden whole: it may be a secret given in the wrong place.
    """
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed '[' of an IPv6 host
        return HIDDEN
    if not parts.scheme:
        return HIDDEN
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{HIDDEN}@{host}" if ":" in userinfo else f"{user}@{host}"
    query = urlencode(
        [
            (name, HIDDEN if name.lower() in SECRET_PARAMETERS else value)
            for name, value in parse_qsl(parts.query, keep_blank_values=True)
        ],
        safe="*/:",
    )
    # Written out rather than by urlunsplit, which drops the empty host of 'sqlite:///path'.
    shown = f"{parts.scheme}://{netloc}{parts.path}" if "//" in url else f"{parts.scheme}:{parts.path}"
    return shown + (f"?{query}" if query else "") + (f"#{parts.fragment}" if parts.fragment else "")
