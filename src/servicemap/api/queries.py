"""Reads of one directory version for the API: the stored HSDS bodies of services,
organizations, taxonomies and search suggestions. Every read names its version, so one response
never mixes two publishes."""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Sequence
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import Connection, Table, select

from servicemap.publish import directory_engine
from servicemap.publish import tables as t
from servicemap.publish.documents import service_documents
from servicemap.publish.rows import DOMAIN_TAXONOMY
from servicemap.publish.text import words

# Service bodies kept per process (some 5 KB each, a listing 1 KB): one version's never change.
SERVICE_BODY_CACHE = 8192
MIN_SUGGESTION_PREFIX = 2
MAX_SUGGESTIONS = 20
_BODIES: OrderedDict[tuple[str, str, str, bool], bytes] = OrderedDict()
_BODIES_LOCK = threading.Lock()  # sync routes run in a thread pool
# Which kind of term a suggestion list shows first when two match equally well.
SUGGESTION_KINDS = ("domain", "synonym", "service")


def _table(model) -> Table:
    return model.__table__


def cached_service_body(url: str, version: str, service_id: str, full: bool = True) -> bytes | None:
    """The body (`full`) or listing read before, None when it has not (yet)."""
    key = (url, version, service_id, full)
    with _BODIES_LOCK:
        body = _BODIES.get(key)
        if body is not None:
            _BODIES.move_to_end(key)
        return body


def service_bodies(
    connection: Connection, url: str, version: str, service_ids: Sequence[str], full: bool = True
) -> list[bytes]:
    """The JSON of `service_ids` that `version` has, in that order, as full objects or (not
    `full`) as their listings: those sent before from the cache, the others read in one go and
    kept."""
    bodies = {}
    for service_id in service_ids:
        body = cached_service_body(url, version, service_id, full)
        if body is not None:
            bodies[service_id] = body
    missing = [i for i in service_ids if i not in bodies]
    for service_id, body in service_documents(connection, version, missing, full=full).items():
        bodies[service_id] = remember_service_body(url, version, service_id, body, full)
    return [bodies[i] for i in service_ids if i in bodies]


def service_body(connection: Connection, url: str, version: str, service_id: str) -> bytes | None:
    """The JSON of one service of `version` as `/services/{id}` sends it, None when there is
    none; kept per database, version and id, as a published version never changes."""
    body = cached_service_body(url, version, service_id)
    if body is not None:
        return body
    found = service_documents(connection, version, [service_id])
    if not found:
        return None  # not kept: an unknown id must not push known ones out
    return remember_service_body(url, version, service_id, found[service_id])


def remember_service_body(url: str, version: str, service_id: str, body: bytes, full: bool = True) -> bytes:
    """Keep `body` (a listing when not `full`) for `cached_service_body`, pushing out the one
    least recently asked for."""
    with _BODIES_LOCK:
        _BODIES[(url, version, service_id, full)] = body
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
