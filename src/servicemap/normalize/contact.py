"""Emails, websites and coordinates in one form, or a named error saying why not."""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import urlsplit

from servicemap.urls import InvalidURL, canonicalize_url


class InvalidEmail(ValueError):
    """A value that is not an email address."""


class InvalidCoordinate(ValueError):
    """A latitude or longitude that is not a number in range."""


_MAILTO = re.compile(r"^\s*(?:mailto|e-?mail(?:adres)?|e|mail)\s*:\s*", re.I)
_SPACED_AT = re.compile(r"\s*@\s*")
# 'info [at] buurtteam.nl', 'info(at)buurtteam(dot)nl': addresses hidden from spam robots.
_AT = re.compile(r"\s*(?:\[at\]|\(at\)|\{at\}|\s+at\s+)\s*", re.I)
_DOT = re.compile(r"\s*(?:\[dot\]|\(dot\)|\{dot\}|\s+dot\s+)\s*", re.I)
_NOT_A_PAGE = re.compile(r"^\s*(?:mailto|tel|javascript|data):", re.I)
_EMAIL = re.compile(
    r"^(?!\.)(?!.*\.\.)[a-z0-9._%+'\-]{1,64}(?<!\.)@"
    r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}$"
)


@lru_cache(maxsize=65536)
def normalize_email(raw: str) -> str:
    """'info@buurtteam.nl' from 'mailto:Info@Buurtteam.nl?subject=Vraag' or 'E-mail: info @ buurtteam.nl',
    lowercased and checked."""
    text = _MAILTO.sub("", raw).split("?", 1)[0]
    text = _SPACED_AT.sub("@", _DOT.sub(".", _AT.sub("@", text))).strip().strip("<>.,;:()[] ").lower()
    if not _EMAIL.match(text):
        raise InvalidEmail(f"{raw!r} is not an email address (expected e.g. 'info@buurtteam.nl')")
    return text


@lru_cache(maxsize=65536)
def normalize_website(raw: str) -> str:
    """The canonical http(s) URL of a website; 'www.buurtteam.nl' gets a scheme. Cached, as
    emails are: an organisation's site and address appear on each of its pages."""
    if _NOT_A_PAGE.match(raw) or "@" in raw.split("://", 1)[-1].split("/", 1)[0]:
        raise InvalidURL(f"{raw!r} is not a website address (a mail, phone or script link)")
    url = canonicalize_url(raw)
    host = urlsplit(url).hostname or ""
    if "." not in host.strip("."):
        raise InvalidURL(f"{raw!r} is not a website address (expected e.g. 'https://www.buurtteam.nl')")
    return url


def parse_coordinate(raw: str, axis: str) -> float:
    """A latitude ('lat') or longitude ('lon') from '52.0907' or '52,0907'."""
    limit = 90.0 if axis == "lat" else 180.0
    try:
        value = float(raw.strip().replace(",", "."))
    except ValueError:
        raise InvalidCoordinate(f"{axis} {raw!r} is not a number") from None
    if not -limit <= value <= limit:
        raise InvalidCoordinate(f"{axis} {raw!r} is outside -{limit:g}..{limit:g}")
    return value
