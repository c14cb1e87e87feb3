"""Stored service bodies read from PostgreSQL on the API's event loop, through psycopg's
async connection pool, the requests that wait for the connection read together.

A body is one indexed row, so its read is mostly the round trip to the server and the
statement's fixed costs, in the driver and in the server. Handed to a worker thread, as the
API's other PostgreSQL reads are, each also paid the hand-off there and back and the wait for
the interpreter lock (at 100,000 services with 20 connections as fast as they go: 3,100-3,700
requests/s, p99 14-15 ms; SQLAlchemy's asyncio layer over the same driver gave 3,000 and
20 ms). Awaited on the loop with a pool of four connections, one statement per request:
4,400-4,800 requests/s, p99 8-12 ms. One connection per process, whose next statement reads
every body asked for meanwhile: 7,600-7,700 requests/s, p99 4.8-5.3 ms.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import NamedTuple

import psycopg
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import any_ as sa_any
from sqlalchemy import bindparam
from sqlalchemy import select as select_columns
from sqlalchemy.dialects.postgresql import psycopg as psycopg_dialect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from servicemap.publish import tables as t
from servicemap.publish.db import closed_by_server

# Connections per API process. The requests that find it busy wait, and its next statement
# reads all their bodies (up to MAX_BATCH): a statement's fixed cost is shared, and no server
# processes compete with the workers for the CPU. In the runs above (12 s each), 2 connections
# gave 6,100-6,400 requests/s with p99 6.5 ms, 4 gave 4,900-5,100 with p99 9.6-9.7 ms.
BODY_CONNECTIONS = 1
# How long a request waits for the database before it is answered 503 (the database is down
# or does not answer).
CONNECTION_WAIT_SECONDS = 5.0
# The most bodies one statement reads, for the requests that waited for a connection.
MAX_BATCH = 32

_documents = t.ServiceDocument.__table__
_BODIES_SQL = str(
    select_columns(_documents.c.service_id, _documents.c.body)
    .where(
        _documents.c.directory_version_id == bindparam("version"),
        _documents.c.service_id == sa_any(bindparam("ids")),
    )
    .compile(dialect=psycopg_dialect.dialect())
)


class _Waiting(NamedTuple):
    """A request waiting for the connection: what it asked for, and where its answer goes."""

    version_id: str
    service_id: str
    answer: asyncio.Future[bytes | None]


class PostgresBodies:
    """The bodies of one PostgreSQL directory, read through a pool of BODY_CONNECTIONS
    connections, each in autocommit (a body is one statement, consistent on its own)."""

    def __init__(self, url: str) -> None:
        # A statement the server does not answer (a lock a migration holds) ends as a wait for
        # the connection does, and the requests waiting behind it are not held longer.
        statement_timeout = f"-c statement_timeout={round(CONNECTION_WAIT_SECONDS * 1000)}"
        self._pool = AsyncConnectionPool(
            make_url(url).set(drivername="postgresql").render_as_string(hide_password=False),
            min_size=BODY_CONNECTIONS,  # all opened at once: growing one at a time stalled a burst
            max_size=BODY_CONNECTIONS,
            timeout=CONNECTION_WAIT_SECONDS,
            kwargs={"autocommit": True, "options": statement_timeout},
            open=False,
        )
        self._opened = False
        self._reading = 0  # connections in use
        self._waiting: deque[_Waiting] = deque()
        self._tasks: set[asyncio.Task] = set()

    async def open(self) -> None:
        """Start connecting, in the background: at the API's start, so that the first requests
        do not wait for the connections (a burst of them waited seconds), or at the first read."""
        if not self._opened:
            self._opened = True
            await self._pool.open(wait=False)

    async def body(self, version_id: str, service_id: str) -> bytes | None:
        """The stored JSON of `service_id` in `version_id`, None when that version has none.

        With a connection free, the body is read at once; otherwise the request waits, and
        the next connection to come free reads every body waited for in one statement."""
        await self.open()
        if self._reading >= BODY_CONNECTIONS:
            answer = asyncio.get_running_loop().create_future()
            self._waiting.append(_Waiting(version_id, service_id, answer))
            try:
                async with asyncio.timeout(CONNECTION_WAIT_SECONDS):
                    return await answer
            except TimeoutError:
                unanswered = psycopg.OperationalError(
                    f"the database did not answer within {CONNECTION_WAIT_SECONDS:g} s"
                )
                raise DBAPIError.instance(_BODIES_SQL, None, unanswered, psycopg.Error) from None
        self._reading += 1
        try:
            return (await self._read(version_id, [service_id])).get(service_id)
        finally:
            self._hand_on()

    def _hand_on(self) -> None:
        """A connection's turn is over: it reads for those waiting, in a task, or comes free."""
        if self._waiting:
            task = asyncio.get_running_loop().create_task(self._read_for_waiting())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        else:
            self._reading -= 1

    async def _read_for_waiting(self) -> None:
        try:
            batch = self._next_batch()
            if not batch:
                return  # another connection's turn took them first, or none waits any more
            try:
                found = await self._read(batch[0].version_id, [w.service_id for w in batch])
            except Exception as exc:
                for waiting in batch:
                    if not waiting.answer.done():
                        waiting.answer.set_exception(exc)
            else:
                for waiting in batch:
                    if not waiting.answer.done():
                        waiting.answer.set_result(found.get(waiting.service_id))
        finally:
            self._hand_on()

    def _next_batch(self) -> list[_Waiting]:
        """The oldest requests still waiting, up to MAX_BATCH, for one directory version."""
        batch: list[_Waiting] = []
        while self._waiting and len(batch) < MAX_BATCH:
            if batch and self._waiting[0].version_id != batch[0].version_id:
                break  # a newer version's requests: in the next statement
            waiting = self._waiting.popleft()
            if not waiting.answer.done():  # else gone: its client left, or it waited too long
                batch.append(waiting)
        return batch

    async def _read(self, version_id: str, service_ids: list[str]) -> dict[str, bytes]:
        try:
            # A connection the server has closed (a restart, an administrator) is closed here,
            # so that the pool replaces it, and the next is taken at once: after a restart
            # every pooled one is closed, and the pool's own check waits longer after each.
            for _ in range(BODY_CONNECTIONS + 1):
                async with self._pool.connection() as connection:
                    if closed_by_server(connection):
                        await connection.close()
                        continue
                    asked = {"version": version_id, "ids": service_ids}
                    cursor = await connection.execute(_BODIES_SQL, asked)
                    return {service_id: body.encode() for service_id, body in await cursor.fetchall()}
            raise psycopg.OperationalError(f"{BODY_CONNECTIONS + 1} connections in a row were closed")
        except psycopg.Error as exc:  # raised as SQLAlchemy's, as the API's other reads raise them
            raise DBAPIError.instance(_BODIES_SQL, None, exc, psycopg.Error) from exc

    async def close(self) -> None:
        if self._opened:
            await self._pool.close()
