"""Each published service as one Open Referral HSDS 3.0 object, nested with its organization,
locations, phones, schedules, taxonomy terms and lineage, and stored with its version as the
JSON the API sends (`service_document`): `body` for `/services/{id}`, `listing` (its one-to-one
fields, see `service_listing`) for a page of `/services`.

`/services/{id}` and a page of search results then read one row per service instead of
rows of nine tables: on PostgreSQL each of those reads was a round trip, and together they
were most of an API request's time and CPU. A publish writes the documents in its
transaction from the rows it has just written, so a document says what the tables say; the
HSDS export nests the same objects from the same rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from weakref import WeakKeyDictionary

import orjson
from sqlalchemy import Connection, Dialect, Table, bindparam, select, text

from servicemap.publish import tables as t
from servicemap.publish.bulk import bulk_insert, driver_cursor
from servicemap.publish.db import one_of

# Services nested per read of their rows: the reads' cost is then the rows', not the statements'.
DOCUMENT_BATCH = 1000
# Columns of the directory's own bookkeeping, which an HSDS object leaves out.
INTERNAL_COLUMNS = frozenset({"directory_version_id", "position"})


class UnkeyedRead(ValueError):
    """A table read by a column its primary key does not lead with (after the version)."""


@dataclass(frozen=True, eq=False)
class _Read:
    """The rows of one table that belong to some services, found by the services' ids: by its
    `column` holding them, or, `through` another table (its column holding ours and its column
    holding the service's id), by a subquery.

    One id is matched by equality (a list of one costs twice that), many by `one_of` (bound as
    one parameter). Read on the driver's cursor: SQLAlchemy's execution costs some 90 us a
    statement, ten times a warm SQLite read. The SQL is compiled once per dialect, and each
    column's result processor (UTC moments, JSON on SQLite) is applied as SQLAlchemy would
    apply it, so a row reads back the same.

    Every table is read by the column its primary key has after the version (revision 0007),
    so the version is matched in SQL and the key's index finds the rows. Rows are sorted
    here, not in SQL: an ORDER BY on the primary key would have SQLite walk the version by it."""

    table: Table
    column: str
    through: tuple[Table, str, str] | None
    names: tuple[str, ...]
    sort_key: Callable[[Sequence], object]  # the primary key's order (after `position`, if any)
    # Per dialect, so an engine's entries go with it: {condition: `_text`}, and
    # [(column index, result processor)].
    _texts: WeakKeyDictionary = field(default_factory=WeakKeyDictionary)
    _processors: WeakKeyDictionary = field(default_factory=WeakKeyDictionary)

    @classmethod
    def of(
        cls,
        model,
        column: str,
        through: tuple[object, str, str] | None = None,
        columns: tuple[str, ...] | None = None,
    ) -> _Read:
        """The read of `model`'s rows by `column`; of all its columns but the version, or of
        `columns` (which must hold the primary key's after the version)."""
        table = model.__table__
        _check_keyed(table, column)
        link = None
        if through is not None:
            link = (through[0].__table__, through[1], through[2])
            _check_keyed(link[0], link[2])
        names = columns or tuple(c.name for c in table.c if c.name != "directory_version_id")
        key = [c.name for c in table.primary_key.columns]
        order = (["position"] if "position" in table.c else []) + key[1:]
        return cls(
            table=table,
            column=column,
            through=link,
            names=names,
            sort_key=itemgetter(*(names.index(name) for name in order)),
        )

    def rows(self, cursor, dialect: Dialect, version: str, service_ids: Sequence[str]) -> list[dict]:
        """The rows of `service_ids`, read on `cursor`, a driver cursor on `dialect`'s connection,
        as SQLAlchemy would give them, in the primary key's order."""
        if len(service_ids) == 1:
            condition, given = None, {"version": version, "id": service_ids[0]}
        else:
            condition, ids = one_of(dialect.name, service_ids)
            given = {"version": version, "ids": ids}
        sql, names = self._text(dialect, condition)
        cursor.execute(sql, tuple(given[name] for name in names) if dialect.positional else given)
        found = cursor.fetchall()
        processors = self._processors.get(dialect)
        if processors is None:
            processors = self._processors.setdefault(dialect, self._result_processors(dialect, cursor))
        if processors:
            found = [list(row) for row in found]
            for row in found:
                for i, process in processors:
                    row[i] = process(row[i])
        if len(found) > 1:
            found.sort(key=self.sort_key)
        names = self.names
        return [dict(zip(names, row, strict=True)) for row in found]

    def _text(self, dialect: Dialect, condition: str | None) -> tuple[str, list[str]]:
        """The SQL for one id (`condition` None) or for `one_of`'s condition, and its
        parameters' names in the driver's order."""
        texts = self._texts.get(dialect)
        if texts is None:
            texts = self._texts.setdefault(dialect, {})
        known = texts.get(condition)
        if known is None:
            if self.through is None:
                matched = _matching(self.table.c[self.column], condition)
            else:
                link, holding, by = self.through
                matched = self.table.c[self.column].in_(
                    select(link.c[holding]).where(
                        link.c.directory_version_id == bindparam("version"), _matching(link.c[by], condition)
                    )
                )
            statement = select(*(self.table.c[name] for name in self.names)).where(
                self.table.c.directory_version_id == bindparam("version"), matched
            )
            compiled = statement.compile(dialect=dialect)
            names = list(compiled.positiontup if dialect.positional else compiled.params)
            known = texts.setdefault(condition, (compiled.string, names))
        return known

    def _result_processors(self, dialect: Dialect, cursor) -> list[tuple[int, Callable]]:
        """The conversions SQLAlchemy applies to this statement's columns, by the types the
        driver reports (PostgreSQL's numeric processors depend on them)."""
        return [
            (i, process)
            for i, (name, described) in enumerate(zip(self.names, cursor.description, strict=True))
            if (
                process := self.table.c[name]
                .type.dialect_impl(dialect)
                .result_processor(dialect, described[1])
            )
            is not None
        ]


def _matching(key, condition: str | None):
    return key == bindparam("id") if condition is None else text(condition.format(str(key)))


def _check_keyed(table: Table, column: str) -> None:
    key = [c.name for c in table.primary_key.columns]
    if key[:2] != ["directory_version_id", column]:
        raise UnkeyedRead(
            f"table {table.name!r} is read by {column!r}, but its primary key is {key}; "
            f"expected it to start with ['directory_version_id', {column!r}]"
        )


# Every table a service object has rows of, each read by the services' ids.
_READS = {
    "service": _Read.of(t.Service, "id"),
    "phone": _Read.of(t.Phone, "service_id"),
    "schedule": _Read.of(t.Schedule, "service_id"),
    "service_at_location": _Read.of(t.ServiceAtLocation, "service_id"),
    "attribute": _Read.of(t.Attribute, "link_id"),
    "source_record": _Read.of(t.SourceRecord, "service_id"),
    "location": _Read.of(t.Location, "id", through=(t.ServiceAtLocation, "location_id", "service_id")),
    "address": _Read.of(t.Address, "location_id", through=(t.ServiceAtLocation, "location_id", "service_id")),
    "organization": _Read.of(t.Organization, "id", through=(t.Service, "organization_id", "id")),
}
# The stored JSON by form: the full object (`body`) or the listing (`listing`), each read alone.
_DOCUMENTS = {
    full: _Read.of(t.ServiceDocument, "service_id", columns=("service_id", "body" if full else "listing"))
    for full in (True, False)
}


def service_listing(service: dict) -> dict:
    """`service` as HSDS 3.0's `/services` lists it (schema/compiled/service_list.json): its
    one-to-one fields, and its organization and program by theirs. The lists of child objects
    (phones, locations, taxonomy terms, lineage) are left to `/services/{id}`: a page of 25
    listings is a sixth of the bytes of 25 full objects."""
    listed = _one_to_one(service)
    for one in ("organization", "program"):
        if isinstance(service.get(one), dict):
            listed[one] = _one_to_one(service[one])
    return listed


def _one_to_one(obj: dict) -> dict:
    return {name: value for name, value in obj.items() if not isinstance(value, list | dict)}


def write_service_documents(connection: Connection, version_id: str) -> None:
    """Store the document of every service of `version_id`, from its rows, in the caller's
    transaction: a publish once its rows are written, a migration for the versions before it."""
    service = t.Service.__table__
    ids = (
        connection.execute(
            select(service.c.id).where(service.c.directory_version_id == version_id).order_by(service.c.id)
        )
        .scalars()
        .all()
    )
    if not ids:
        return
    taxonomy = _taxonomy_rows(connection, version_id)
    for start in range(0, len(ids), DOCUMENT_BATCH):
        objects = _service_objects(connection, version_id, ids[start : start + DOCUMENT_BATCH], taxonomy)
        bulk_insert(
            connection,
            t.ServiceDocument.__table__,
            [
                # orjson writes moments as isoformat does ('+00:00', not 'Z'), as the export's
                # JSON does, and some ten times faster than json.
                {
                    "directory_version_id": version_id,
                    "service_id": o["id"],
                    "body": orjson.dumps(o).decode(),
                    "listing": orjson.dumps(service_listing(o)).decode(),
                }
                for o in objects
            ],
        )


def service_documents(
    connection: Connection, version_id: str, service_ids: Sequence[str], *, full: bool = True
) -> dict[str, bytes]:
    """The stored JSON of those of `service_ids` that `version_id` has, by id: one read; the
    full objects, or with `full` False their listings."""
    if not service_ids:
        return {}
    _begin(connection)
    read = _DOCUMENTS[full]
    with driver_cursor(connection) as cursor:
        rows = read.rows(cursor, connection.dialect, version_id, service_ids)
    column = read.names[1]
    return {row["service_id"]: row[column].encode() for row in rows}


def _service_objects(
    connection: Connection,
    version_id: str,
    service_ids: Sequence[str],
    taxonomy: tuple[list[dict], list[dict]],
) -> list[dict]:
    """HSDS service objects for `service_ids`, nested from their rows; `taxonomy` is
    `_taxonomy_rows` of the version, which every object refers to."""
    _begin(connection)
    dialect = connection.dialect
    with driver_cursor(connection) as cursor:
        tables = {name: read.rows(cursor, dialect, version_id, service_ids) for name, read in _READS.items()}
    terms, taxonomies = taxonomy
    used = {r["taxonomy_term_id"] for r in tables["attribute"]}
    tables["taxonomy_term"] = [term for term in terms if term["id"] in used]
    tables["taxonomy"] = taxonomies
    return nest_services(tables)


def _begin(connection: Connection) -> None:
    if not connection.in_transaction():
        # Begun as SQLAlchemy's first statement would begin it (on SQLite, the engine's BEGIN):
        # the driver's cursors then read in the connection's one snapshot.
        connection.begin()


def _taxonomy_rows(connection: Connection, version_id: str) -> tuple[list[dict], list[dict]]:
    """Every taxonomy term and taxonomy of `version_id`: a few hundred rows that every service
    object refers to."""
    read = []
    for model in (t.TaxonomyTerm, t.Taxonomy):
        table = model.__table__
        query = select(*(c for c in table.c if c.name != "directory_version_id")).where(
            table.c.directory_version_id == version_id
        )
        read.append([dict(row) for row in connection.execute(query.order_by(table.c.id)).mappings()])
    return read[0], read[1]


def nest_services(tables: dict[str, list[dict]]) -> list[dict]:
    """Full HSDS service objects from the table rows of one version, by service name."""
    organizations = {r["id"]: _public(r) for r in tables["organization"]}
    taxonomies = {r["id"]: _public(r) for r in tables["taxonomy"]}
    # One object per term, which every service it labels shares: a publish nests half a
    # million labels, a few dozen terms.
    terms = {
        r["id"]: {**_public(r), "taxonomy_detail": taxonomies[r["taxonomy_id"]]}
        for r in tables["taxonomy_term"]
    }
    addresses = _group(tables["address"], "location_id")
    locations = {
        r["id"]: {**_public(r), "addresses": addresses.get(r["id"], []), "phones": [], "schedules": []}
        for r in tables["location"]
    }
    phones = _group(tables["phone"], "service_id")
    schedules = _group(tables["schedule"], "service_id")
    attributes = _group(tables["attribute"], "link_id")
    at_locations = _group(tables["service_at_location"], "service_id")
    lineage = _group(tables["source_record"], "service_id")
    services = []
    for service in sorted(tables["service"], key=lambda r: (r["name"], r["id"])):
        sid = service["id"]
        organization = organizations.get(service["organization_id"])
        services.append(
            {
                **_public(service),
                **({"organization": organization} if organization is not None else {}),
                "phones": phones.get(sid, []),
                "schedules": schedules.get(sid, []),
                "service_at_locations": [
                    {**link, "location": locations[link["location_id"]]} for link in at_locations.get(sid, [])
                ],
                "attributes": [
                    {**a, "taxonomy_term": terms[a["taxonomy_term_id"]]} for a in attributes.get(sid, [])
                ],
                # HSDS metadata: which crawled page last confirmed this service, and when.
                "metadata": [
                    {
                        "id": t.stable_id("metadata", sid, r["record_id"]),
                        "resource_id": sid,
                        "resource_type": "service",
                        "last_action_date": r["fetched_at"].date(),  # HSDS: a date, YYYY-MM-DD
                        "last_action_type": "crawled",
                        "field_name": "",
                        "previous_value": "",
                        "replacement_value": r["url"],
                        "updated_by": r["source_id"],
                    }
                    for r in lineage.get(sid, [])
                ],
            }
        )
    return services


def _group(rows: list[dict], key: str) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        grouped[row[key]].append(_public(row))
    return grouped


def _public(row: dict) -> dict:
    """A row as an HSDS object: HSDS types a field as a string or number, never null, so a
    value the directory does not know is left out rather than written as null."""
    return {k: v for k, v in row.items() if k not in INTERNAL_COLUMNS and v is not None}
