"""A publish's writes, run beside the Python that builds the rows they write.

The database inserts and indexes one batch (PostgreSQL in its server process, SQLite in its C
code, which lets go of the interpreter meanwhile) while this process builds the next, so that
both take a core instead of turns. The writes still run one after another on the publish's one
connection and transaction, so the publish stays atomic.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from types import TracebackType

from sqlalchemy import Connection
from sqlalchemy.pool import SingletonThreadPool

# SQLite's page cache for a publish (KiB): its indexes' pages stay in memory instead of
# being spilled to the WAL and read back for every random insert (a third of the SQL time of
# 100,000 services). Only the publish's connection grows its cache, and only as it needs.
PUBLISH_CACHE_KIB = 256 * 1024


class BackgroundWrites:
    """Writes on `connection` in the order submitted, in one other thread.

    While it is open the caller must not use `connection` itself; on leaving, every write has
    ended (a failed one raises its error there) and the connection is the caller's again. A
    connection of a `SingletonThreadPool` (SQLite in memory) belongs to its thread: its writes
    run in turn, in the caller's."""

    def __init__(self, connection: Connection):
        self._connection = connection
        self._pending: list[Future] = []
        self._executor = (
            None
            if isinstance(connection.engine.pool, SingletonThreadPool)
            else ThreadPoolExecutor(max_workers=1, thread_name_prefix="publish-writes")
        )

    def submit(self, write: Callable[[Connection], None]) -> None:
        """Run `write(connection)` after the writes submitted before it. The error of a write
        that already failed is raised here, so that no more rows are built for a transaction
        that cannot commit."""
        if self._executor is None:
            write(self._connection)
            return
        for future in [f for f in self._pending if f.done()]:
            future.result()
            self._pending.remove(future)
        self._pending.append(self._executor.submit(write, self._connection))

    def __enter__(self) -> BackgroundWrites:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._executor is None:
            return
        try:
            if exc_type is None:
                for future in self._pending:
                    future.result()
        finally:
            # After an error the writes not yet started are dropped (the transaction rolls
            # back), and the one running ends before the caller rolls back on the connection.
            self._executor.shutdown(wait=True, cancel_futures=True)


@contextmanager
def publish_settings(connection: Connection) -> Iterator[None]:
    """On SQLite, two settings for a publish, made before its transaction (synchronous cannot
    change within one) and then set back: the connection goes back to a pool that readers and
    problem reports share. Made on the driver's connection, which a failed statement does not
    close as it does SQLAlchemy's transaction.

    - The page cache at PUBLISH_CACHE_KIB.
    - synchronous=NORMAL: the WAL synced when it is checkpointed rather than also at commit,
      which took seconds for the 900 MB of 100,000 services. A power cut right after the
      commit may undo that publish, never corrupt the file: the last version goes on serving
      and the next run publishes again.
    """
    if connection.dialect.name != "sqlite":
        yield
        return
    sqlite = connection.connection.driver_connection
    settings = {"cache_size": f"-{PUBLISH_CACHE_KIB}", "synchronous": "NORMAL"}
    before = {name: sqlite.execute(f"PRAGMA {name}").fetchone()[0] for name in settings}
    for name, value in settings.items():
        sqlite.execute(f"PRAGMA {name}={value}")
    try:
        yield
    finally:
        for name, value in before.items():
            sqlite.execute(f"PRAGMA {name}={int(value)}")
