"""The full-text index, written by a publish in its own transaction: FTS5 on SQLite, a
weighted `tsvector` with a GIN index on PostgreSQL. One row per service and version, so a
rollback needs no re-indexing."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text

from servicemap.publish.bulk import driver_cursor
from servicemap.publish.text import IndexText, compound_vocabulary, words

SEARCH_TABLE = "service_search"
SQLITE_VOCABULARY = "service_search_vocabulary"
DOCUMENT_COLUMNS = ("name", "organization", "domains", "description")
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


@dataclass(frozen=True)
class SearchDocument:
    """The text of one service that search matches, in the order of its weight."""

    service_id: str
    name: str
    organization: str
    domains: str
    description: str


def create_search_index(engine: Engine) -> None:
    with engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql(
                f"CREATE VIRTUAL TABLE IF NOT EXISTS {SEARCH_TABLE} USING fts5("
                "name, organization, domains, description, "
                "service_id UNINDEXED, directory_version_id UNINDEXED, prefix='3 5')"
            )
            connection.exec_driver_sql(
                f"CREATE VIRTUAL TABLE IF NOT EXISTS {SQLITE_VOCABULARY} "
                f"USING fts5vocab({SEARCH_TABLE}, 'row')"
            )
        else:
            connection.exec_driver_sql(
                f"CREATE TABLE IF NOT EXISTS {SEARCH_TABLE} ("
                "directory_version_id VARCHAR(36) NOT NULL, service_id VARCHAR(36) NOT NULL, "
                "document TSVECTOR NOT NULL, PRIMARY KEY (directory_version_id, service_id))"
            )
            connection.exec_driver_sql(
                f"CREATE INDEX IF NOT EXISTS {SEARCH_TABLE}_document ON {SEARCH_TABLE} USING GIN (document)"
            )


def index_documents(connection: Connection, version_id: str, documents: Iterable[SearchDocument]) -> None:
    """Add the documents of one version to the index, inside the caller's transaction.

    Each text is stored with its accents folded and followed by the tails of its compounds,
    whose heads are words of this version (see `compound_tails`)."""
    documents = list(documents)
    if not documents:
        return
    found = [[words(getattr(d, c)) for c in DOCUMENT_COLUMNS] for d in documents]
    vocabulary = compound_vocabulary(w for fields in found for field in fields for w in field)
    sqlite = connection.dialect.name == "sqlite"
    index_text = IndexText(vocabulary, stemmed=sqlite)
    rows = [
        (*(index_text(field) for field in fields), d.service_id, version_id)
        for d, fields in zip(documents, found, strict=True)
    ]
    if sqlite:
        # A document's rowid is its service row's, so that search matches the services that
        # pass a filter against the index by rowid alone.
        service_rows = dict(
            connection.exec_driver_sql(
                "SELECT id, rowid FROM service WHERE directory_version_id = ?", (version_id,)
            ).all()
        )
        connection.exec_driver_sql(
            f"INSERT INTO {SEARCH_TABLE} "
            "(rowid, name, organization, domains, description, service_id, directory_version_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(service_rows[row[4]], *row) for row in rows],
        )
    else:
        # The texts go in by COPY; PostgreSQL then builds every tsvector in one statement.
        connection.exec_driver_sql(
            "CREATE TEMPORARY TABLE search_text (name TEXT, organization TEXT, domains TEXT, "
            "description TEXT, service_id VARCHAR(36), directory_version_id VARCHAR(36)) "
            "ON COMMIT DROP"
        )
        with driver_cursor(connection) as cursor, cursor.copy("COPY search_text FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        connection.exec_driver_sql(
            f"INSERT INTO {SEARCH_TABLE} (directory_version_id, service_id, document) "
            "SELECT directory_version_id, service_id, "
            "setweight(to_tsvector('dutch', name), 'A') || "
            "setweight(to_tsvector('dutch', organization), 'B') || "
            "setweight(to_tsvector('dutch', domains), 'C') || "
            "setweight(to_tsvector('dutch', description), 'D') FROM search_text"
        )
    # Fresh statistics for the tables a search joins: planned on empty-table guesses, the
    # lookups of a hit's phones and addresses scan the whole version, and a distance or facet
    # filter runs a hundred times slower.
    for table in SEARCHED_TABLES:
        connection.exec_driver_sql(f"ANALYZE {table}")


def drop_versions(connection: Connection, version_ids: list[str]) -> None:
    for version_id in version_ids:
        connection.execute(
            text(f"DELETE FROM {SEARCH_TABLE} WHERE directory_version_id = :version"),
            {"version": version_id},
        )
