"""One engine per database URL, set up the same way for every caller."""

from __future__ import annotations

import select
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import orjson
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError

DEFAULT_URL = "sqlite:///var/servicemap.db"
# SQLite reads the file through a memory map up to this size: a page read is then a memory
# access, not a system call and a copy, and the worker processes of the API share the pages.
# (A directory of 100,000 services is some 1.3 GB, its stored service documents 0.5 GB of it;
# this is the most SQLite maps, just under 2 GiB.)
SQLITE_MMAP_BYTES = 0x7FFF0000
# SQLite connections kept open per engine: as many as the threads of anyio's default limiter,
# in which the API's and the web page's synchronous routes each hold one.
SQLITE_POOL_SIZE = 40


class UnsupportedDatabase(ValueError):
    """A URL for a database the directory does not run on."""


def backend(url: str) -> str:
    """'sqlite' or 'postgresql': search and publish pick their SQL by it."""
    name = make_url(url).get_backend_name()
    if name not in ("sqlite", "postgresql"):
        raise UnsupportedDatabase(f"{url!r}: the directory runs on sqlite or postgresql, not {name!r}")
    return name


@lru_cache(maxsize=16)
def engine_for(url: str) -> Engine:
    """An engine for `url`; SQLite in WAL mode so that readers keep reading during a publish."""
    return _engine(url)


@lru_cache(maxsize=16)
def request_engine(url: str) -> Engine:
    """A second engine for `url`, set up the same, for connections an API request holds from
    start to end: such a request also takes one of `engine_for(url)` (search does), and two
    pools cannot starve each other as one pool can when every holder waits for a second."""
    return _engine(url)


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A connection for reads in one snapshot, ended by COMMIT where closing it would roll
    back: psycopg forgets the statements it has prepared on a connection at every rollback, so
    reads ended that way were planned anew each time (0.2-0.5 ms a statement on PostgreSQL,
    most of a search's display reads). An error still rolls back. Only for reads: what is
    written in it is kept."""
    with engine.connect() as connection:
        yield connection
        if connection.in_transaction():
            connection.commit()


def _refuse_closed_connection(dbapi_connection, _record, _proxy) -> None:
    """A pooled PostgreSQL connection that the server has closed (a restart, an administrator,
    an idle timeout) is replaced before anyone uses it: the pool retries the checkout on
    another. Seen on the socket, which then reads as ready although no statement is in
    flight, instead of by pool_pre_ping's query: that was a round trip at every checkout, a
    third of the time an API request reads a stored service body in."""
    if closed_by_server(dbapi_connection):
        raise DisconnectionError("PostgreSQL has closed this pooled connection")


def closed_by_server(connection) -> bool:
    """Whether an idle psycopg connection (synchronous or async) is closed, or its socket
    reads as ready: with no statement in flight, that is the server closing it."""
    if connection.closed:
        return True
    poller = select.poll()
    poller.register(connection.fileno(), select.POLLIN)
    return bool(poller.poll(0))


def one_of(dialect: str, ids: Sequence[object]) -> tuple[str, object]:
    """A condition, to format with a column, that the column is one of `ids`, and the value to
    bind as its one parameter :ids: thousands of parameters cost more to bind than to look
    up, and the text is the same for any number of ids, so it is planned once (PostgreSQL
    prepares it after a few uses), not at each read."""
    if dialect == "postgresql":
        return "{} = ANY(:ids)", list(ids)
    return "{} IN (SELECT value FROM json_each(:ids))", orjson.dumps(list(ids)).decode()


def json_text(value: object) -> str:
    """JSON columns as orjson writes them: a publish serialises a million evidence lists and
    lineage maps, and the standard library takes several times as long."""
    return orjson.dumps(value).decode()


def _engine(url: str) -> Engine:
    if backend(url) == "postgresql":
        # One snapshot per transaction, as SQLite's WAL gives: a reader that looks up the
        # current version and then reads its rows still sees them if a publish prunes it.
        # No JIT: it compiles a search's ranking of a few thousand rows for longer than the
        # ranking takes (tens of milliseconds per query), and a publish gains nothing from it.
        # Index pages are in memory: at the default random_page_cost the planner checks every
        # document of a version against a broad query rather than read the GIN index.
        engine = create_engine(
            url,
            isolation_level="REPEATABLE READ",
            connect_args={"options": "-c jit=off -c random_page_cost=1.1"},
            json_serializer=json_text,
        )
        event.listen(engine, "checkout", _refuse_closed_connection)
        return engine
    database = make_url(url).database
    pooling = {}
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
        # A checkout never waits: a SQLite connection costs the server nothing, and the API
        # reads SQLite on its event loop, where waiting for a connection that another request
        # holds stops that request from giving it back (a stall until the pool's 30 s timeout).
        # As many are kept as the server's threads can hold at once: a connection closed when
        # given back costs the next request a new one (a connect, its PRAGMAs, cold caches of
        # statements and pages); searches in 40 threads spent a third of their time so.
        pooling = {"pool_size": SQLITE_POOL_SIZE, "max_overflow": -1}
    engine = create_engine(url, json_serializer=json_text, **pooling)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection, _record) -> None:
        # SQLAlchemy, not the sqlite3 module, decides where transactions begin, so a publish
        # is one transaction including the FTS5 writes.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection) -> None:
        # On the driver's connection: SQLAlchemy's execution path costs some 40 us, which every
        # API request (a snapshot of its own) would pay.
        connection.connection.driver_connection.execute("BEGIN")

    return engine
