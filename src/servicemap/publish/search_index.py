"""The full-text index, written by a publish in its own transaction: FTS5 on SQLite, a
weighted `tsvector` with a GIN index on PostgreSQL. One row per service and version, so a
rollback needs no re-indexing."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from operator import attrgetter

from sqlalchemy import Connection, text

from servicemap.publish.bulk import driver_cursor
from servicemap.publish.text import IndexText, compound_vocabulary, fold, words

SEARCH_TABLE = "service_search"
SQLITE_VOCABULARY = "service_search_vocabulary"
DOCUMENT_COLUMNS = ("name", "organization", "domains", "description")
# A PostgreSQL document's name and organisation lexemes (weights A and B), indexed on their
# own (revision 0008, which writes this expression as it stands): a search looks for its
# words there first, as SQLite's column filter does, and ranks the few services named so
# instead of every description that mentions a broad word.
POSTGRES_TITLE = "ts_filter(document, '{a,b}')"
# A PostgreSQL document's tags (see `tag`) from their text, space-separated, as lexemes.
POSTGRES_TAGS = "array_to_tsvector(array_remove(string_to_array({tags}, ' '), ''))"
_texts = attrgetter(*DOCUMENT_COLUMNS)
SEARCHED_TABLES = (
    SEARCH_TABLE,
    "service",
    "service_at_location",
    "location",
    "address",
    "service_domain",
    "service_facet",
    "schedule",
    "phone",
    "organization",
    "taxonomy_term",
)


# What a service is (its life domains, facets, municipality) is also written into the index,
# as words no text has, so that a filter is part of the full-text query: the index
# intersects the matches with the services that pass, and only those are ranked. They never
# add to a score: on SQLite a column of weight 0, on PostgreSQL a tsvector of their own.
TAG_PREFIX = "0x0"
TAG_KINDS = {
    "domain": "d",
    "audience": "a",
    "sector": "e",
    "access": "c",
    "municipality": "m",
}


@lru_cache(maxsize=4096)
def tag(kind: str, value: str) -> str:
    """The index word for `value` of `kind`: 'municipality', 'Súdwest Fryslân' -> '0x0msudwestfryslan'.
    Cached: a few hundred terms and municipalities tag every service of a publish."""
    return TAG_PREFIX + TAG_KINDS[kind] + re.sub(r"[^a-z0-9]", "", fold(value))


@dataclass(frozen=True)
class SearchDocument:
    """The text of one service that search matches, in the order of its weight, and the tags
    of what it is (see `tag`)."""

    service_id: str
    name: str
    organization: str
    domains: str
    description: str
    tags: tuple[str, ...] = ()


def index_rows(dialect: str, version_id: str, documents: Iterable[SearchDocument]) -> list[tuple]:
    """The index rows of one version's documents, built without the database so that the
    server can work on one part of a publish while this process builds the next: (name,
    organization, domains, description, tags, service_id, version_id).

    Each text is stored with its accents folded and followed by the tails of its compounds,
    whose heads are words of this version (see `compound_tails`); on SQLite it is stemmed too
    (PostgreSQL stems with its `dutch` configuration)."""
    documents = list(documents)
    # Each distinct text once: organisation names and domain labels recur in thousands of
    # documents, and so does the description of a service offered in many places.
    found = {text: words(text) for d in documents for text in _texts(d)}
    vocabulary = compound_vocabulary(w for found_words in found.values() for w in found_words)
    index_text = IndexText(vocabulary, stemmed=dialect == "sqlite")
    indexed = {text: index_text(found_words) for text, found_words in found.items()}
    return [
        (*(indexed[text] for text in _texts(d)), " ".join(d.tags), d.service_id, version_id)
        for d in documents
    ]


def write_index(connection: Connection, version_id: str, rows: list[tuple]) -> None:
    """Add the rows of `index_rows` to the index, inside the caller's transaction."""
    if not rows:
        return
    if connection.dialect.name == "sqlite":
        # A document's rowid is its service row's, so that search matches the services that
        # pass a filter against the index by rowid alone.
        service_rows = dict(
            connection.exec_driver_sql(
                "SELECT id, rowid FROM service WHERE directory_version_id = ?", (version_id,)
            ).all()
        )
        connection.exec_driver_sql(
            f"INSERT INTO {SEARCH_TABLE} "
            "(rowid, name, organization, domains, description, tags, service_id, directory_version_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(service_rows[row[5]], *row) for row in rows],
        )
    else:
        # The texts go in by COPY; PostgreSQL then builds every tsvector in one statement,
        # each distinct text's once: stemming is most of the index's cost, and organisation
        # names, domain labels and the texts of a service offered in many places recur.
        # NOT NULL: a document whose text failed to join would otherwise go missing. The tags
        # are lexemes as they are (no parsing), in a tsvector of their own (revision 0009).
        connection.exec_driver_sql(
            "CREATE TEMPORARY TABLE search_text (name TEXT NOT NULL, organization TEXT NOT NULL, "
            "domains TEXT NOT NULL, description TEXT NOT NULL, tags TEXT NOT NULL, "
            "service_id VARCHAR(36), directory_version_id VARCHAR(36)) ON COMMIT DROP"
        )
        with driver_cursor(connection) as cursor, cursor.copy("COPY search_text FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        connection.exec_driver_sql(
            f"INSERT INTO {SEARCH_TABLE} (directory_version_id, service_id, document, tags) "
            "WITH vectors AS (SELECT text, to_tsvector('dutch', text) AS vector FROM ("
            "SELECT name AS text FROM search_text UNION SELECT organization FROM search_text "
            "UNION SELECT domains FROM search_text UNION SELECT description FROM search_text) texts) "
            "SELECT t.directory_version_id, t.service_id, "
            "setweight(n.vector, 'A') || setweight(o.vector, 'B') || "
            f"setweight(d.vector, 'C') || setweight(s.vector, 'D'), {POSTGRES_TAGS.format(tags='t.tags')} "
            "FROM search_text t "
            "JOIN vectors n ON n.text = t.name JOIN vectors o ON o.text = t.organization "
            "JOIN vectors d ON d.text = t.domains JOIN vectors s ON s.text = t.description"
        )


def published_tags(connection: Connection) -> dict[tuple[str, str], list[str]]:
    """The tags of every published service, by (version, service id), read from the tables: for
    a migration that tags an index written before it had them."""
    tags: dict[tuple[str, str], list[str]] = {}
    services = connection.exec_driver_sql(
        "SELECT s.directory_version_id, s.id, coalesce(s.municipality, a.municipality, a.city) "
        "FROM service s LEFT JOIN service_at_location sl ON sl.directory_version_id = s.directory_version_id "
        "AND sl.service_id = s.id LEFT JOIN address a ON a.directory_version_id = sl.directory_version_id "
        "AND a.location_id = sl.location_id"
    )
    for version, service, place in services:
        if (version, service) in tags:  # a second location: its municipality is not the filter's
            continue
        tags[(version, service)] = [tag("municipality", place)] if place else []
    terms = connection.exec_driver_sql(
        "SELECT directory_version_id, service_id, 'domain', domain FROM service_domain "
        "UNION ALL SELECT directory_version_id, service_id, taxonomy, term FROM service_facet"
    )
    for version, service, kind, term in terms:
        found = tags.get((version, service))
        if found is not None and kind in TAG_KINDS:
            found.append(tag(kind, term))
    return {key: list(dict.fromkeys(found)) for key, found in tags.items()}


def analyze_searched_tables(connection: Connection) -> None:
    """Fresh statistics for the tables a search joins, once a version's rows are all written:
    planned on empty-table guesses, the lookups of a hit's phones and addresses scan the whole
    version, and a distance or facet filter runs a hundred times slower."""
    for table in SEARCHED_TABLES:
        connection.exec_driver_sql(f"ANALYZE {table}")


def drop_versions(connection: Connection, version_ids: list[str]) -> None:
    for version_id in version_ids:
        connection.execute(
            text(f"DELETE FROM {SEARCH_TABLE} WHERE directory_version_id = :version"),
            {"version": version_id},
        )
