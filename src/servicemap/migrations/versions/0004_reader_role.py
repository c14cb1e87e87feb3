"""A read-only role for the API on PostgreSQL: the public-facing process cannot change the
directory, even through a statement smuggled past the parameterised SQL.

The role (SERVICEMAP_READER_ROLE, default 'servicemap_reader') may read every table of the
schema, now and later (default privileges of the role running the migrations), and may add a
'meld een fout' report: it can insert into problem_report and read only the two columns the
per-client limit counts, not the reporters' addresses. It is created with LOGIN and no
password, for local trust authentication; a deployment sets one (ALTER ROLE ... PASSWORD) and
gives the API its URL in SERVICEMAP_API_DATABASE_URL. SQLite has no roles: nothing to do.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 12:00:00
"""

import os
import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from servicemap.web.reports import ProblemReport

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

READER_ROLE_SETTING = "SERVICEMAP_READER_ROLE"
DEFAULT_READER_ROLE = "servicemap_reader"
# Columns the report limit counts by; the message and contact stay unreadable to the API.
REPORT_COLUMNS_READ = ("client_hash", "received_at")
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def reader_role() -> str:
    """The role name from the environment, checked to be a plain identifier: it goes into DDL."""
    role = os.environ.get(READER_ROLE_SETTING, DEFAULT_READER_ROLE)
    if not _IDENTIFIER.match(role):
        raise ValueError(
            f"{READER_ROLE_SETTING}={role!r}: expected a lower-case PostgreSQL identifier "
            "(letters, digits, '_'; e.g. 'servicemap_reader')"
        )
    return role


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    role = reader_role()
    schema = bind.execute(sa.text("SELECT quote_ident(current_schema())")).scalar_one()
    # Roles belong to the cluster: another database may have created it already, at this very
    # moment even (then the catalogue's unique index answers, not the duplicate check).
    op.execute(
        f"DO $$ BEGIN CREATE ROLE {role} LOGIN; "
        "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
    )
    op.execute(f"GRANT USAGE ON SCHEMA {schema} TO {role}")
    op.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {role}")
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT SELECT ON TABLES TO {role}")
    # The reports table as servicemap.web.reports creates it on first use, made here so that
    # the reader need not create it.
    ProblemReport.__table__.create(bind, checkfirst=True)
    op.execute(f"REVOKE ALL ON problem_report FROM {role}")
    op.execute(f"GRANT SELECT ({', '.join(REPORT_COLUMNS_READ)}), INSERT ON problem_report TO {role}")
