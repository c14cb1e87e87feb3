"""Which directory version is current, known to an API process without a database read per
request: a body built once per version can then be sent straight from memory."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from servicemap.publish import PublishedVersion, backend, current_version

# How stale the current version may be on PostgreSQL, which has no cheap "did anything
# change" question; SQLite's PRAGMA data_version answers that exactly.
POSTGRES_RECHECK_SECONDS = 0.1


@dataclass(frozen=True)
class Served:
    """A version and the caching headers every answer from it carries."""

    version: PublishedVersion
    etag: str
    headers: dict[str, str]

    @classmethod
    def of(cls, version: PublishedVersion) -> Served:
        etag = f'"{version.id}"'
        modified = format_datetime(version.published_at.astimezone(UTC), usegmt=True)
        return cls(version, etag, {"ETag": etag, "Last-Modified": modified, "Cache-Control": "no-cache"})


class CurrentVersion:
    """The current version of the directory at `url` as last read, read again only when the
    database may have changed since: on SQLite when another connection has committed (PRAGMA
    data_version on a read-only connection of its own, so a publish is seen by the very next
    request); on PostgreSQL at most once per `recheck_seconds`.

    An answer built from the version this returns is consistent (its rows never change); on
    PostgreSQL it may be up to `recheck_seconds` older than a publish that just committed."""

    def __init__(
        self,
        url: str,
        recheck_seconds: float = POSTGRES_RECHECK_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.sqlite = backend(url) == "sqlite"
        self.recheck_seconds = recheck_seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._served: Served | None = None
        self._seen: Any = None  # the data_version (SQLite) or the moment (PostgreSQL) of `_served`
        self._watch: sqlite3.Connection | None = None

    def get(self) -> Served:
        """The current version and its headers; NoDirectoryPublished when there is none."""
        with self._lock:
            mark = self._mark()
            if self._served is None or mark != self._seen:
                # Marked before reading: a publish committing in between is read again next time.
                self._served = Served.of(current_version(self.url))
                self._seen = mark
            return self._served

    def _mark(self) -> Any:
        if not self.sqlite:
            now = self.clock()
            if self._seen is not None and now - self._seen < self.recheck_seconds:
                return self._seen
            return now
        if self._watch is None:
            where = Path(make_url(self.url).database or "").resolve().as_uri()
            self._watch = sqlite3.connect(f"{where}?mode=ro", uri=True, check_same_thread=False)
        return self._watch.execute("PRAGMA data_version").fetchone()[0]
