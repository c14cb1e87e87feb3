"""A real publish in its own process, which holds still at a chosen point so that a test can
kill it (SIGKILL) or take its database away there.

`python -m tests.faults.publish_child <database url> <run id> <services> <point> <control dir>`
publishes `services` generated services with the product's `publish_directory`. At `point`
(one of POINTS, or 'none') it writes `<control dir>/paused` (JSON: the PostgreSQL backend pid
of the publishing connection) and waits for `<control dir>/resume`: 'go' carries on, 'disk-full'
first forbids every file of this process to grow, as a full disk would. Nothing in the
publish is replaced: the pause hangs on SQLAlchemy's cursor events. Exit 0 prints the new
version id; a refused publish (`PublishError`) prints its message on stderr and exits 3."""

from __future__ import annotations

import json
import re
import resource
import signal
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url

from servicemap.publish import PublishError, publish_directory
from servicemap.publish.search_index import SEARCH_TABLE
from servicemap.records import Address, ClassifiedService, Label, Phone, SourceRef

# Where a publish can be caught: after its first service row, after its first search-index
# row, after the new directory_version row is inserted, and just before COMMIT.
POINTS = {
    "service-rows": re.compile(r"^\s*INSERT INTO service\b", re.IGNORECASE),
    "search-index": re.compile(rf"^\s*INSERT INTO {SEARCH_TABLE}\b", re.IGNORECASE),
    "version-row": re.compile(r"^\s*INSERT INTO directory_version\b", re.IGNORECASE),
    "commit": None,
}
EXIT_REFUSED = 3
DAYS = ["maandag", "woensdag", "vrijdag"]


def generated_services(run_id: str, count: int) -> list[ClassifiedService]:
    """`count` fictional services, named after the run so that two runs differ in every row."""
    fetched_at = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    services = []
    for n in range(count):
        name = f"Buurtkamer {run_id} {n}"
        page = f"https://www.lindeloo.example.nl/buurtkamer-{run_id}-{n}"
        services.append(
            ClassifiedService(
                id=str(uuid.uuid5(uuid.NAMESPACE_URL, page)),
                name=name,
                organization=f"Stichting Buurtwerk Lindeloo {n % 5}",
                description=f"Inloop met koffie en een luisterend oor, elke {DAYS[n % 3]}.",
                address=Address(
                    street="Dorpsplein", house_number=str(n + 1), postcode="9998 BB", city="Lindeloo"
                ),
                phones=[Phone(number=f"+313000{n:05d}", kind="voice")],
                website=page,
                municipality="Lindeloo",
                members=[
                    SourceRef(
                        record_id=f"buurtwerk:{n}", source_id="buurtwerk", url=page, fetched_at=fetched_at
                    )
                ],
                labels=[
                    Label(
                        taxonomy="life_domain",
                        term="social_participation",
                        term_label="Meedoen en sociaal netwerk",
                        confidence=0.9,
                        evidence=["inloop"],
                    )
                ],
            )
        )
    return services


class Pause:
    """Holds the publish still once, at the first moment `point` is reached."""

    def __init__(self, point: str, control: Path, url: str):
        if point != "none" and point not in POINTS:
            raise SystemExit(f"unknown point {point!r}; expected one of {sorted(POINTS)} or 'none'")
        self.point, self.control, self.done = point, control, point == "none"
        self.database = make_url(url).database if url.startswith("sqlite") else None
        self.version_row_written = False  # the only commit worth holding is the publish's own

    def install(self) -> None:
        # A write that would grow a file past the limit `_hold` may set then fails (EFBIG)
        # instead of killing the process. Set here: the hold may come in a publish's writer
        # thread, and only the main thread may set a signal's handler.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        event.listen(Engine, "after_cursor_execute", self._after_statement)
        event.listen(Engine, "commit", self._before_commit)

    def _after_statement(self, connection, cursor, statement, *args) -> None:
        self.version_row_written |= bool(POINTS["version-row"].match(statement))
        pattern = POINTS.get(self.point)
        if not self.done and pattern is not None and pattern.match(statement):
            self._hold(connection)

    def _before_commit(self, connection) -> None:
        if not self.done and self.point == "commit" and self.version_row_written:
            self._hold(connection)

    def _hold(self, connection) -> None:
        self.done = True
        dbapi = connection.connection.dbapi_connection
        info = getattr(dbapi, "info", None)  # psycopg's connection info; sqlite3 has none
        pid = getattr(info, "backend_pid", None)
        (self.control / "paused.tmp").write_text(json.dumps({"backend_pid": pid}))
        (self.control / "paused.tmp").rename(self.control / "paused")
        resume = self.control / "resume"
        while not resume.exists():
            time.sleep(0.02)
        if resume.read_text().strip() == "disk-full":
            files = [Path(f"{self.database}{suffix}") for suffix in ("", "-wal", "-shm")]
            largest = max(f.stat().st_size for f in files if f.exists())
            resource.setrlimit(resource.RLIMIT_FSIZE, (largest, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))


def main(argv: list[str]) -> int:
    url, run_id, count, point, control = argv
    Pause(point, Path(control), url).install()
    try:
        version = publish_directory(url, generated_services(run_id, int(count)), [], run_id=run_id)
    except PublishError as exc:
        print(exc, file=sys.stderr)
        return EXIT_REFUSED
    print(version.id)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
