"""SQLite's full-text index gets a `tags` column: what each service is (its life domains,
audience, sector and access terms, municipality) as words no text has, so that a
search's filters are part of its full-text query and only the services that pass are ranked.
The index is rebuilt with the tags of the rows already published. PostgreSQL's index is
unchanged.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 14:00:00
"""

from collections.abc import Sequence

from alembic import op

from servicemap.publish.search_index import published_tags

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TEXT = ("name", "organization", "domains", "description")


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    connection = op.get_bind()
    # Keyed by the service row, which is the index's row since revision 0005.
    rows = {
        (version, service): row
        for row, version, service in connection.exec_driver_sql(
            "SELECT rowid, directory_version_id, id FROM service"
        )
    }
    tags = {rows[key]: found for key, found in published_tags(connection).items()}
    columns = ", ".join(_TEXT)
    op.execute(
        "CREATE VIRTUAL TABLE service_search_tagged USING fts5(name, organization, domains, description, "
        "tags, service_id UNINDEXED, directory_version_id UNINDEXED, prefix='3 5')"
    )
    op.execute("CREATE TEMPORARY TABLE search_tags (row INTEGER PRIMARY KEY, tags TEXT)")
    if tags:
        connection.exec_driver_sql(
            "INSERT INTO search_tags VALUES (?, ?)",
            [(row, " ".join(found)) for row, found in tags.items()],
        )
    op.execute(
        f"INSERT INTO service_search_tagged (rowid, {columns}, tags, service_id, directory_version_id) "
        f"SELECT q.rowid, {', '.join(f'q.{c}' for c in _TEXT)}, t.tags, q.service_id, q.directory_version_id "
        "FROM service_search q LEFT JOIN search_tags t ON t.row = q.rowid"
    )
    op.execute("DROP TABLE search_tags")
    op.execute("DROP TABLE service_search_vocabulary")
    op.execute("DROP TABLE service_search")
    op.execute("ALTER TABLE service_search_tagged RENAME TO service_search")
    op.execute("CREATE VIRTUAL TABLE service_search_vocabulary USING fts5vocab(service_search, 'row')")
