"""Each published service as one stored HSDS object (`service_document`): the JSON the API
sends for `/services/{id}` and a page of search results, read as one row per service instead
of rows of nine tables (on PostgreSQL nine round trips, most of a request's time). The
versions already published get theirs from their rows, as a publish now writes them (a
version that has some is left as it is).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from servicemap.publish.documents import write_service_documents

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    connection = op.get_bind()
    if "service_document" not in sa.inspect(connection).get_table_names():
        op.create_table(
            "service_document",
            sa.Column("directory_version_id", sa.String(length=36), nullable=False),
            sa.Column("service_id", sa.String(length=36), nullable=False),
            sa.Column("body", sa.Text(), nullable=False),
            sa.PrimaryKeyConstraint("directory_version_id", "service_id"),
        )
    undocumented = connection.exec_driver_sql(
        "SELECT id FROM directory_version WHERE id NOT IN (SELECT directory_version_id FROM service_document)"
    )
    for version_id in undocumented.scalars().all():
        write_service_documents(connection, version_id)
