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

from servicemap.publish.search_index import TAG_KINDS, tag

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
    rows: dict[tuple[str, str], int] = {}
    tags: dict[int, list[str]] = {}
    services = connection.exec_driver_sql(
        "SELECT s.rowid, s.directory_version_id, s.id, "
        "coalesce(s.municipality, a.municipality, a.city) FROM service s "
        "LEFT JOIN service_at_location sl ON sl.directory_version_id = s.directory_version_id "
        "AND sl.service_id = s.id LEFT JOIN address a ON a.directory_version_id = sl.directory_version_id "
        "AND a.location_id = sl.location_id"
    )
    for row, version, service, place in services:
        if row in tags:  # a second location: its municipality is not the filter's
            continue
        rows[(version, service)] = row
        tags[row] = [tag("municipality", place)] if place else []
    terms = connection.exec_driver_sql(
        "SELECT directory_version_id, service_id, 'domain', domain FROM service_domain "
        "UNION ALL SELECT directory_version_id, service_id, taxonomy, term FROM service_facet"
    )
    for version, service, kind, term in terms:
        row = rows.get((version, service))
        if row is not None and kind in TAG_KINDS:
            tags[row].append(tag(kind, term))
    columns = ", ".join(_TEXT)
    op.execute(
        "CREATE VIRTUAL TABLE service_search_tagged USING fts5(name, organization, domains, description, "
        "tags, service_id UNINDEXED, directory_version_id UNINDEXED, prefix='3 5')"
    )
    op.execute("CREATE TEMPORARY TABLE search_tags (row INTEGER PRIMARY KEY, tags TEXT)")
    if tags:
        connection.exec_driver_sql(
            "INSERT INTO search_tags VALUES (?, ?)",
            [(row, " ".join(dict.fromkeys(words))) for row, words in tags.items()],
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
