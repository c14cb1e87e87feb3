"""Publish overrides: a version published although blocking checks failed keeps the
operator's reason and the names of the checks that were overridden.

Versions published before this revision were never overridden: both columns stay empty.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("directory_version", sa.Column("override_reason", sa.String(), nullable=True))
    op.add_column("directory_version", sa.Column("overridden_checks", sa.JSON(), nullable=True))
