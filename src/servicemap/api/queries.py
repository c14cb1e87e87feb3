"""Reads of one directory version for the API: filtered service ids, HSDS service objects for
a page of them, organizations and taxonomies. Every read names its version, so one response
never mixes two publishes."""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from operator import itemgetter
from typing import Literal
from weakref import WeakKeyDictionary

import orjson
from pydantic import BaseModel
from sqlalchemy import Connection, Dialect, Table, bindparam, select, text

from servicemap.hsds.export import nest_services
from servicemap.publish import directory_engine
from servicemap.publish import tables as t
from servicemap.publish.bulk import driver_cursor
from servicemap.publish.db import one_of
from servicemap.publish.rows import DOMAIN_TAXONOMY
from servicemap.publish.text import words

# Serialized service bodies kept per process (some 5 KB each): one version's body never changes.
SERVICE_BODY_CACHE = 8192
MIN_SUGGESTION_PREFIX = 2
MAX_SUGGESTIONS = 20
_BODIES: OrderedDict[tuple[str, str, str], bytes] = OrderedDict()
_BODIES_LOCK = threading.Lock()  # sync routes run in a thread pool
# Which kind of term a suggestion list shows first when two match equally well.
SUGGESTION_KINDS = ("domain", "synonym", "service")


def _table(model) -> Table:
    return model.__table__


class UnkeyedRead(ValueError):
    """A table read by a column its primary key does not lead with (after the version)."""


@dataclass(frozen=True, eq=False)
class _Read:
    """The rows of one table whose `column` is `id` (one: a list of one costs twice an
    equality), or one of `ids` (many, bound as one parameter by `one_of`), read on the
    driver's cursor: SQLAlchemy's execution costs some 90 us a statement, ten times a warm
    SQLite read, and a service body takes nine. The SQL is compiled once per dialect, and each
    column's result processor (UTC moments, JSON on SQLite) is applied as SQLAlchemy would
    apply it, so a row reads back the same.

    Every table is read by the column its primary key has after the version (revision 0007),
    so the version is matched in SQL and the key's index finds the rows. Rows are sorted
    here, not in SQL: an ORDER BY on the primary key would have SQLite walk the version by it."""

    table: Table
    column: str
    names: tuple[str, ...]
    sort_key: Callable[[Sequence], object]  # the primary key's order (after `position`, if any)
    # Per dialect, so an engine's entries go with it: {condition: `_text`}, and
    # [(column index, result processor)].
    _texts: WeakKeyDictionary = field(default_factory=WeakKeyDictionary)
    _processors: WeakKeyDictionary = field(default_factory=WeakKeyDictionary)

    @classmethod
    def of(cls, model, column: str) -> _Read:
        table = _table(model)
        key = [c.name for c in table.primary_key.columns]
        if key[:2] != ["directory_version_id", column]:
            raise UnkeyedRead(
                f"table {table.name!r} is read by {column!r}, but its primary key is {key}; "
                f"expected it to start with ['directory_version_id', {column!r}]"
            )
        names = tuple(c.name for c in table.c if c.name != "directory_version_id")
        order = (["position"] if "position" in table.c else []) + key[1:]
        return cls(
            table=table,
            column=column,
            names=names,
            sort_key=itemgetter(*(names.index(name) for name in order)),
        )

    def rows(self, cursor, dialect: Dialect, version: str, values: Sequence[str]) -> list[dict]:
        """The rows for `values`, read on `cursor`, a driver cursor on `dialect`'s connection."""
        if not values:
            return []
        if len(values) == 1:
            condition, given = None, {"version": version, "id": values[0]}
        else:
            condition, ids = one_of(dialect.name, values)
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
            key = self.table.c[self.column]
            matched = key == bindparam("id") if condition is None else text(condition.format(str(key)))
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


_READS = {
    "service": _Read.of(t.Service, "id"),
    "phone": _Read.of(t.Phone, "service_id"),
    "schedule": _Read.of(t.Schedule, "service_id"),
    "service_at_location": _Read.of(t.ServiceAtLocation, "service_id"),
    "attribute": _Read.of(t.Attribute, "link_id"),
    "source_record": _Read.of(t.SourceRecord, "service_id"),
    "location": _Read.of(t.Location, "id"),
    "address": _Read.of(t.Address, "location_id"),
    "organization": _Read.of(t.Organization, "id"),
}


def service_objects(connection: Connection, url: str, version: str, service_ids: Sequence[str]) -> list[dict]:
    """HSDS service objects for `service_ids`, in that order, nested as the HSDS export nests them."""
    if not service_ids:
        return []
    ids = list(service_ids)
    if not connection.in_transaction():
        # Begun as SQLAlchemy's first statement would begin it (on SQLite, the engine's BEGIN):
        # the driver's cursors then read in the connection's one snapshot.
        connection.begin()

    dialect = connection.dialect
    with driver_cursor(connection) as cursor:

        def rows(table: str, values: Sequence[str]) -> list[dict]:
            return _READS[table].rows(cursor, dialect, version, values)

        tables = {name: rows(name, ids) for name in _BY_SERVICE}
        location_ids = sorted({r["location_id"] for r in tables["service_at_location"]})
        tables["location"] = rows("location", location_ids)
        tables["address"] = rows("address", location_ids)
        tables["organization"] = rows(
            "organization", sorted({r["organization_id"] for r in tables["service"] if r["organization_id"]})
        )
    terms, taxonomies = _taxonomy_rows(connection, url, version)
    used = {r["taxonomy_term_id"] for r in tables["attribute"]}
    tables["taxonomy_term"] = [term for term in terms if term["id"] in used]
    tables["taxonomy"] = taxonomies
    by_id = {s["id"]: s for s in nest_services(tables)}
    return [by_id[i] for i in ids if i in by_id]


_BY_SERVICE = ("service", "phone", "schedule", "service_at_location", "attribute", "source_record")
_TAXONOMIES: OrderedDict[tuple[str, str], tuple[list[dict], list[dict]]] = OrderedDict()
_TAXONOMIES_KEPT = 4


def _taxonomy_rows(connection: Connection, url: str, version: str) -> tuple[list[dict], list[dict]]:
    """Every taxonomy term and taxonomy of `version`, read once per version and process: a
    few hundred rows that every service body refers to."""
    key = (url, version)
    with _BODIES_LOCK:
        kept = _TAXONOMIES.get(key)
    if kept is not None:
        return kept
    read = []
    for model in (t.TaxonomyTerm, t.Taxonomy):
        table = _table(model)
        query = select(*(c for c in table.c if c.name != "directory_version_id")).where(
            table.c.directory_version_id == version
        )
        read.append([dict(row) for row in connection.execute(query.order_by(table.c.id)).mappings()])
    kept = (read[0], read[1])
    with _BODIES_LOCK:
        _TAXONOMIES[key] = kept
        while len(_TAXONOMIES) > _TAXONOMIES_KEPT:
            _TAXONOMIES.popitem(last=False)
    return kept


def cached_service_body(url: str, version: str, service_id: str) -> bytes | None:
    """The body `service_body` serialized before, None when it has not (yet)."""
    with _BODIES_LOCK:
        body = _BODIES.get((url, version, service_id))
        if body is not None:
            _BODIES.move_to_end((url, version, service_id))
        return body


def service_bodies(connection: Connection, url: str, version: str, service_ids: Sequence[str]) -> list[bytes]:
    """The JSON bodies of `service_ids` that `version` has, in that order: those serialized
    before from the cache, the others read in one go and kept."""
    bodies = {i: body for i in service_ids if (body := cached_service_body(url, version, i)) is not None}
    missing = [i for i in service_ids if i not in bodies]
    for found in service_objects(connection, url, version, missing):
        bodies[found["id"]] = _remember(url, version, found)
    return [bodies[i] for i in service_ids if i in bodies]


def service_body(connection: Connection, url: str, version: str, service_id: str) -> bytes | None:
    """The JSON of one service of `version` as `/services/{id}` sends it, None when there is
    none; serialized once per database, version and id, as a published version never changes."""
    body = cached_service_body(url, version, service_id)
    if body is not None:
        return body
    found = service_objects(connection, url, version, [service_id])
    if not found:
        return None  # not kept: an unknown id must not push known ones out
    return _remember(url, version, found[0])


def _remember(url: str, version: str, service: dict) -> bytes:
    # orjson writes moments as the HSDS export does (isoformat: '+00:00', not 'Z'), so both
    # give one body, some ten times faster than json.
    body = orjson.dumps(service)
    with _BODIES_LOCK:
        _BODIES[(url, version, service["id"])] = body
        if len(_BODIES) > SERVICE_BODY_CACHE:
            _BODIES.popitem(last=False)
    return body


def organizations(connection: Connection, version: str, organization_id: str | None = None) -> list[dict]:
    """Organizations of `version` by name, each with the ids and names of its active services."""
    table = _table(t.Organization)
    query = select(table).where(table.c.directory_version_id == version)
    if organization_id is not None:
        query = query.where(table.c.id == organization_id)
    found = [
        {k: v for k, v in row.items() if k != "directory_version_id"}
        for row in connection.execute(query.order_by(table.c.name, table.c.id)).mappings()
    ]
    if not found:
        return []
    service = _table(t.Service)
    services: dict[str, list[dict]] = {}
    for row in connection.execute(
        select(service.c.id, service.c.name, service.c.organization_id)
        .where(
            service.c.directory_version_id == version,
            service.c.status == "active",
            service.c.organization_id.in_([o["id"] for o in found]),
        )
        .order_by(service.c.name, service.c.id)
    ):
        services.setdefault(row.organization_id, []).append({"id": row.id, "name": row.name})
    return [{**o, "services": services.get(o["id"], [])} for o in found]


def taxonomies(connection: Connection, version: str) -> list[dict]:
    table = _table(t.Taxonomy)
    query = select(table).where(table.c.directory_version_id == version).order_by(table.c.name, table.c.id)
    return [
        {k: v for k, v in r.items() if k != "directory_version_id"}
        for r in connection.execute(query).mappings()
    ]


def taxonomy_terms(connection: Connection, version: str, taxonomy_id: str | None = None) -> list[dict]:
    table = _table(t.TaxonomyTerm)
    query = select(table).where(table.c.directory_version_id == version)
    if taxonomy_id is not None:
        query = query.where(table.c.taxonomy_id == taxonomy_id)
    query = query.order_by(table.c.taxonomy, table.c.code, table.c.id)
    return [
        {k: v for k, v in r.items() if k != "directory_version_id"}
        for r in connection.execute(query).mappings()
    ]


class Suggestion(BaseModel):
    """A term to complete the search box with, and where it comes from."""

    text: str
    kind: Literal["domain", "synonym", "service"]


class _SuggestionIndex:
    """Every term of one version under the folded words from each of its word starts, sorted:
    'mantel' finds 'Steunpunt Mantelzorg' by its second word, 'financien' finds 'Financiën'.

    One sorted list per (match at a later word, kind), walked in that order: a lookup reads
    only as many entries as it returns, even for two letters over 100,000 service names."""

    def __init__(self, terms: list[Suggestion]):
        self.terms = terms
        buckets: dict[tuple[bool, str], list[tuple[str, int]]] = {
            (later, kind): [] for later in (False, True) for kind in SUGGESTION_KINDS
        }
        for number, term in enumerate(terms):
            folded = words(term.text)
            for start in range(len(folded)):
                buckets[(start > 0, term.kind)].append((" ".join(folded[start:]), number))
        self.buckets = []
        for key in sorted(buckets, key=lambda k: (k[0], SUGGESTION_KINDS.index(k[1]))):
            entries = sorted(buckets[key])
            self.buckets.append(([k for k, _ in entries], [n for _, n in entries]))

    def lookup(self, prefix: str, limit: int) -> list[Suggestion]:
        chosen: list[Suggestion] = []
        seen: set[str] = set()  # 'schuldhulp' the synonym and 'Schuldhulp' the service alike
        for keys, numbers in self.buckets:
            for at in range(bisect_left(keys, prefix), len(keys)):
                if not keys[at].startswith(prefix) or len(chosen) == limit:
                    break
                term = self.terms[numbers[at]]
                if term.text.lower() not in seen:
                    seen.add(term.text.lower())
                    chosen.append(term)
        return chosen


def suggestions(url: str, version: str, query: str, limit: int = 10) -> list[Suggestion]:
    """Terms of `version` that complete `query` at a word start: life-domain labels, the
    taxonomy's synonyms and active service names, whole-term matches first. A query of fewer
    than MIN_SUGGESTION_PREFIX letters gets none, as nearly every term would match."""
    prefix = " ".join(words(query))
    if len(prefix) < MIN_SUGGESTION_PREFIX:
        return []
    return _suggestion_index(url, version).lookup(prefix, min(limit, MAX_SUGGESTIONS))


def suggestion_terms(url: str, version: str) -> list[Suggestion]:
    """The domain labels and synonyms of `version`: few enough to send with the page itself."""
    return [term for term in _suggestion_index(url, version).terms if term.kind != "service"]


@lru_cache(maxsize=4)
def _suggestion_index(url: str, version: str) -> _SuggestionIndex:
    """Built once per version: a published version never changes."""
    terms_table, service, synonyms = _table(t.TaxonomyTerm), _table(t.Service), _table(t.SynonymGroup)
    with directory_engine(url).connect() as connection:
        domains = connection.execute(
            select(terms_table.c.name)
            .where(terms_table.c.directory_version_id == version, terms_table.c.taxonomy == DOMAIN_TAXONOMY)
            .distinct()
        ).scalars()
        terms = [Suggestion(text=name, kind="domain") for name in sorted(domains)]
        groups = connection.execute(
            select(synonyms.c.words).where(synonyms.c.directory_version_id == version)
        ).scalars()
        terms += [Suggestion(text=w, kind="synonym") for w in sorted({w for group in groups for w in group})]
        names = connection.execute(
            select(service.c.name)
            .where(service.c.directory_version_id == version, service.c.status == "active")
            .distinct()
        ).scalars()
        terms += [Suggestion(text=name, kind="service") for name in sorted(names)]
    return _SuggestionIndex(terms)
