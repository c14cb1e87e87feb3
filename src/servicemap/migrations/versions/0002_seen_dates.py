"""Seen dates and the inactive policy: when each service was first seen, last seen on its
sources and last changed, how many publishes in a row its sources lacked it, and a digest of
its content to tell a change from a re-crawl.

Services already published get dates from what the database holds: first seen and last
changed at the oldest kept publish that had them, last seen at the newest fetch of their
records. The digest stays empty; the next publish compares those services field by field.

Revision ID: 0002
Revises: 0001
Create Date: 2026-03-20 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("service", sa.Column("first_seen", sa.DateTime(timezone=True), nullable=True))
    op.add_column("service", sa.Column("last_seen", sa.DateTime(timezone=True), nullable=True))
    op.add_column("service", sa.Column("last_changed", sa.DateTime(timezone=True), nullable=True))
    op.add_column("service", sa.Column("inactive_runs", sa.Integer(), server_default="0", nullable=False))
    op.add_column("service", sa.Column("content_hash", sa.String(length=64), nullable=True))
    op.execute(
        "UPDATE service SET first_seen = ("
        "  SELECT min(v.published_at) FROM service AS s"
        "  JOIN directory_version AS v ON v.id = s.directory_version_id"
        "  WHERE s.id = service.id)"
    )
    op.execute("UPDATE service SET last_changed = first_seen")
    op.execute(
        "UPDATE service SET last_seen = ("
        "  SELECT max(r.fetched_at) FROM source_record AS r"
        "  WHERE r.directory_version_id = service.directory_version_id AND r.service_id = service.id)"
    )
    op.execute("UPDATE service SET inactive_runs = 1 WHERE status = 'inactive'")
