"""Indexes that let search filter first: a selective filter (a domain, an audience, a
municipality, a distance) reads the few services that pass it from an index and only those
are ranked, instead of every service of the version being tested one by one; a list
without words reads the services in name order until enough pass.

On SQLite the full-text index's rowid becomes the rowid of the service row it indexes, so that
the services passing a filter are matched against the index by rowid, without reading every
match's stored service id; rows indexed before this revision are re-keyed.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 13:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_service_version_municipality": ("service", ["directory_version_id", "municipality"]),
    "ix_service_version_name": ("service", ["directory_version_id", "name", "id"]),
    "ix_location_version_position": ("location", ["directory_version_id", "latitude", "longitude", "id"]),
    "ix_service_location_version_location": (
        "service_at_location",
        ["directory_version_id", "location_id", "service_id"],
    ),
    "ix_service_domain_version_domain": ("service_domain", ["directory_version_id", "domain"]),
    "ix_service_facet_version_term": ("service_facet", ["directory_version_id", "taxonomy", "term"]),
}
_FTS_COLUMNS = ("name", "organization", "domains", "description", "service_id", "directory_version_id")


def upgrade() -> None:
    for name, (table, columns) in INDEXES.items():
        op.create_index(name, table, columns)
    # Statistics for the new indexes: without them the planner may read a whole version
    # through one of them until the next publish analyses the tables.
    for table in sorted({table for table, _ in INDEXES.values()}):
        op.execute(f"ANALYZE {table}")
    if op.get_bind().dialect.name == "sqlite":
        columns = ", ".join(_FTS_COLUMNS)
        selected = ", ".join(f"q.{c} AS {c}" for c in _FTS_COLUMNS)
        op.execute(
            f"CREATE TEMPORARY TABLE search_rekeyed AS SELECT s.rowid AS service_row, {selected} "
            "FROM service_search q JOIN service s ON s.id = q.service_id "
            "AND s.directory_version_id = q.directory_version_id"
        )
        op.execute("DELETE FROM service_search")
        op.execute(
            f"INSERT INTO service_search (rowid, {columns}) SELECT service_row, {columns} FROM search_rekeyed"
        )
        op.execute("DROP TABLE search_rekeyed")
