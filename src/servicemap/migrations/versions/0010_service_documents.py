"""Each published service as one stored HSDS object (`service_document`): the JSON the API
sends for `/services/{id}` and a page of search results, read as one row per service instead
of rows of nine tables (on PostgreSQL nine round trips, most of a request's time). The
versions already published get theirs from revision 0011, which writes them as a publish now
does (with the column it adds).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if "service_document" not in sa.inspect(op.get_bind()).get_table_names():
        op.create_table(
            "service_document",
            sa.Column("directory_version_id", sa.String(length=36), nullable=False),
            sa.Column("service_id", sa.String(length=36), nullable=False),
            sa.Column("body", sa.Text(), nullable=False),
            sa.PrimaryKeyConstraint("directory_version_id", "service_id"),
        )
