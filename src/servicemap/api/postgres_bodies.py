"""Stored service bodies read from PostgreSQL on the API's event loop, through psycopg's
async connection pool.

A body is one indexed row, so its read is mostly the round trip to the server. Handed to a
worker thread, as the API's other PostgreSQL reads are, each also paid the hand-off there and
back and the wait for the interpreter lock: at 100,000 services with 20 connections as fast
as they go, 3,100-3,700 requests/s with p99 14-15 ms, against 5,000-5,100 and 9-11 ms awaited
on the loop. (SQLAlchemy's asyncio layer over the same driver gave 3,000 and 20 ms.)
"""

from __future__ import annotations

import psycopg
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import bindparam
from sqlalchemy import select as select_columns
from sqlalchemy.dialects.postgresql import psycopg as psycopg_dialect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from servicemap.publish import tables as t
from servicemap.publish.db import closed_by_server

# Connections per API process. A request waits for one in turn: with more, more server
# processes competed for the CPU with the workers, and the slowest answers were slower. At
# 100,000 services with 20 connections as fast as they go (12 s runs), p99 7.9-9.8 ms with
# 4 against 9.6-13.6 ms with 8, for 5% fewer requests per second.
BODY_CONNECTIONS = 4
# How long a request waits for a connection before it is answered 503 (the database is down).
CONNECTION_WAIT_SECONDS = 5.0

_documents = t.ServiceDocument.__table__
_BODY_SQL = str(
    select_columns(_documents.c.body)
    .where(
        _documents.c.directory_version_id == bindparam("version"),
        _documents.c.service_id == bindparam("id"),
    )
    .compile(dialect=psycopg_dialect.dialect())
)


class PostgresBodies:
    """The bodies of one PostgreSQL directory, read through a pool of BODY_CONNECTIONS
    connections, each in autocommit (a body is one statement, consistent on its own)."""

    def __init__(self, url: str) -> None:
        self._pool = AsyncConnectionPool(
            make_url(url).set(drivername="postgresql").render_as_string(hide_password=False),
            min_size=BODY_CONNECTIONS,  # all opened at once: growing one at a time stalled a burst
            max_size=BODY_CONNECTIONS,
            timeout=CONNECTION_WAIT_SECONDS,
            kwargs={"autocommit": True},
            open=False,
        )
        self._opened = False

    async def open(self) -> None:
        """Start connecting, in the background: at the API's start, so that the first requests
        do not wait for the connections (a burst of them waited seconds), or at the first read."""
        if not self._opened:
            self._opened = True
            await self._pool.open(wait=False)

    async def body(self, version_id: str, service_id: str) -> bytes | None:
        """The stored JSON of `service_id` in `version_id`, None when that version has none."""
        await self.open()
        try:
            # A connection the server has closed (a restart, an administrator) is closed here,
            # so that the pool replaces it, and the next is taken at once: after a restart
            # every pooled one is closed, and the pool's own check waits longer after each.
            for _ in range(BODY_CONNECTIONS + 1):
                async with self._pool.connection() as connection:
                    if closed_by_server(connection):
                        await connection.close()
                        continue
                    cursor = await connection.execute(_BODY_SQL, {"version": version_id, "id": service_id})
                    row = await cursor.fetchone()
                    return row[0].encode() if row else None
            raise psycopg.OperationalError(f"{BODY_CONNECTIONS + 1} connections in a row were closed")
        except psycopg.Error as exc:  # raised as SQLAlchemy's, as the API's other reads raise them
            raise DBAPIError.instance(_BODY_SQL, None, exc, psycopg.Error) from exc

    async def close(self) -> None:
        if self._opened:
            await self._pool.close()
