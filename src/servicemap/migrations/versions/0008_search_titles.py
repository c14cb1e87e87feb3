"""PostgreSQL indexes the name and organisation lexemes of each search document on their own
(`ts_filter(document, '{a,b}')`, the expression `POSTGRES_TITLE` of
servicemap.publish.search_index names): a search looks for its words in names first, as it
does on SQLite with FTS5's column filter, and when enough services are named so it ranks
those alone. A broad word ('begeleiding', 'ouderen') is in the descriptions of a tenth of a
large directory, and ranking all of those was most of a search's time.

SQLite has the column filter already; nothing changes there.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 14:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE INDEX IF NOT EXISTS service_search_title ON service_search "
        "USING GIN (ts_filter(document, '{a,b}'))"
    )
