"""Many rows into one table inside the caller's transaction, at the driver's speed: COPY on
PostgreSQL, one prepared `executemany` on SQLite.

SQLAlchemy's `insert()` with a list of dicts compiles and processes every row's parameters
in Python, which is most of a 100,000-service publish. Here each column's bind processor (the
JSON serialiser, the UTC conversion of `UTCDateTime`) is looked up once and applied to plain
tuples, so the values stored are the ones `insert()` would store.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from operator import itemgetter

from sqlalchemy import JSON, Connection, Dialect, Table
from sqlalchemy.exc import DBAPIError
from sqlalchemy.types import TypeEngine


class BulkInsertError(ValueError):
    """Rows that do not fit the table they are written to."""


def bulk_insert(connection: Connection, table: Table, rows: Sequence[dict], *, watched: bool = False) -> None:
    """Insert `rows` (dicts with the same keys, column names) into `table`, on the
    connection's open transaction; a column the rows lack gets its default.

    On PostgreSQL the rows are copied straight into `table`, in the order of its primary key
    (each page of the key's index is then changed once, in order, rather than at random for
    every row). `watched` rows are copied into a temporary table first and written by one
    INSERT ... SELECT, which SQLAlchemy's cursor events see, as they see every statement on
    SQLite: a publish can be watched, and interrupted, there (the crash tests pause on it)."""
    if not rows:
        return
    names = list(rows[0])
    unknown = [n for n in names if n not in table.c]
    if unknown:
        raise BulkInsertError(
            f"table {table.name!r} has no columns {unknown} (columns: {list(table.c.keys())})"
        )
    # Column defaults that SQLAlchemy would fill in Python ('NL', 'physical'), as constants.
    defaults = {}
    for column in table.c:
        if column.name in names or column.default is None:
            continue
        if not column.default.is_scalar:
            raise BulkInsertError(
                f"table {table.name!r}: column {column.name!r} has a computed default; give its value"
            )
        defaults[column.name] = column.default.arg
    dialect = connection.dialect
    columns = names + list(defaults)
    processors: list[tuple[int, Callable]] = []
    for i, name in enumerate(columns):
        process = _bind_processor(table.c[name].type, dialect)
        if process is not None:
            processors.append((i, process))
    values_of = itemgetter(*names) if len(names) > 1 else lambda row: (row[names[0]],)
    constants = list(defaults.values())
    expected = set(names)
    tuples = []
    for row in rows:
        if row.keys() != expected:
            raise BulkInsertError(
                f"table {table.name!r}: a row has columns {sorted(row)}, "
                f"expected the first row's {sorted(names)}"
            )
        values = [*values_of(row), *constants]
        for i, process in processors:
            values[i] = process(values[i])
        tuples.append(tuple(values))
    quoted = ", ".join(dialect.identifier_preparer.quote(n) for n in columns)
    target = dialect.identifier_preparer.format_table(table)
    if dialect.name == "postgresql":
        key = [columns.index(c.name) for c in table.primary_key.columns if c.name in columns]
        if watched:
            stage = dialect.identifier_preparer.quote(f"{table.name}_bulk")
            order = ", ".join(dialect.identifier_preparer.quote(columns[i]) for i in key)
            _copy_staged(connection, target, stage, quoted, order, tuples)
        else:
            if key:
                tuples.sort(key=itemgetter(*key))
            _copy(connection, f"{target} ({quoted})", tuples)
        return
    # One executemany through SQLAlchemy: errors and cursor events stay as for any statement,
    # so a publish can be watched and interrupted table by table.
    marks = ", ".join("?" for _ in columns)
    connection.exec_driver_sql(f"INSERT INTO {target} ({quoted}) VALUES ({marks})", tuples)


def _bind_processor(column_type: TypeEngine, dialect: Dialect) -> Callable | None:
    """The column's bind processor, applied once per distinct value where values repeat (a
    publish's moments are the same few for every service); JSON is written as its text, which
    COPY takes as it is and SQLite stores."""
    if isinstance(column_type, JSON):
        return dialect._json_serializer or json.dumps
    process = column_type.dialect_impl(dialect).bind_processor(dialect)
    if process is None:
        return None
    return lru_cache(maxsize=1024)(process)


def _copy(connection: Connection, target: str, tuples: list[tuple]) -> None:
    """COPY `tuples` into `target` (a table and its columns): ten times an executemany's speed."""
    with driver_cursor(connection) as cursor, cursor.copy(f"COPY {target} FROM STDIN") as copy:
        for values in tuples:
            copy.write_row(values)


def _copy_staged(
    connection: Connection, target: str, stage: str, quoted: str, order: str, tuples: list[tuple]
) -> None:
    """COPY into a temporary table shaped like `target`, then one INSERT ... SELECT in `order`."""
    connection.exec_driver_sql(f"CREATE TEMPORARY TABLE {stage} (LIKE {target} INCLUDING DEFAULTS)")
    _copy(connection, f"{stage} ({quoted})", tuples)
    connection.exec_driver_sql(
        f"INSERT INTO {target} ({quoted}) SELECT {quoted} FROM {stage} ORDER BY {order}"
    )
    connection.exec_driver_sql(f"DROP TABLE {stage}")


@contextmanager
def driver_cursor(connection: Connection) -> Iterator:
    """A cursor of the driver on the connection's transaction, whose errors are raised as
    SQLAlchemy's (an `IntegrityError` stays one), as callers catch those."""
    dbapi_error = connection.dialect.loaded_dbapi.Error
    cursor = connection.connection.cursor()
    try:
        yield cursor
    except dbapi_error as exc:
        raise DBAPIError.instance(None, None, exc, dbapi_error) from exc
    finally:
        cursor.close()
