"""The full-text index, written by a publish in its own transaction: FTS5 on SQLite, a
weighted `tsvector` with a GIN index on PostgreSQL. One row per service and version, so a
rollback needs no re-indexing."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text

from servicemap.publish.text import stemmed

SEARCH_TABLE = "service_search"
SQLITE_VOCABULARY = "service_search_vocabulary"


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
    """Add the documents of one version to the index, inside the caller's transaction."""
    rows = [
        {
            "version": version_id,
            "service_id": d.service_id,
            "name": d.name,
            "organization": d.organization,
            "domains": d.domains,
            "description": d.description,
        }
        for d in documents
    ]
    if not rows:
        return
    if connection.dialect.name == "sqlite":
        for row in rows:
            for column in ("name", "organization", "domains", "description"):
                row[column] = stemmed(row[column])
        statement = text(
            f"INSERT INTO {SEARCH_TABLE} "
            "(name, organization, domains, description, service_id, directory_version_id) "
            "VALUES (:name, :organization, :domains, :description, :service_id, :version)"
        )
    else:
        statement = text(
            f"INSERT INTO {SEARCH_TABLE} (directory_version_id, service_id, document) VALUES "
            "(:version, :service_id, "
            "setweight(to_tsvector('dutch', :name), 'A') || "
            "setweight(to_tsvector('dutch', :organization), 'B') || "
            "setweight(to_tsvector('dutch', :domains), 'C') || "
            "setweight(to_tsvector('dutch', :description), 'D'))"
        )
    connection.execute(statement, rows)


def drop_versions(connection: Connection, version_ids: list[str]) -> None:
    for version_id in version_ids:
        connection.execute(
            text(f"DELETE FROM {SEARCH_TABLE} WHERE directory_version_id = :version"),
            {"version": version_id},
        )
