"""Tables read by their parent's id are keyed by it: attribute by (version, link_id, id),
phone, schedule and service_at_location by (version, service_id, id), address by (version,
location_id, id). Every read of them gives the version and the parent, so the key serves
those reads and the separate index on the parent id goes: a publish writes one index per
row of these tables instead of two (the 518,000 attributes of 100,000 services were a fifth
of a PostgreSQL publish). `ix_service_municipality` goes too: every municipality filter
names the version, which `ix_service_version_municipality` (0005) leads with.

On PostgreSQL the key is swapped in place (grants and rows stay); SQLite cannot change a
table's key, so each table is rebuilt with its rows.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table: (its parent's id column, the index on that column this key replaces)
KEYS = {
    "attribute": ("link_id", "ix_attribute_link_id"),
    "phone": ("service_id", "ix_phone_service_id"),
    "schedule": ("service_id", "ix_schedule_service_id"),
    "service_at_location": ("service_id", "ix_service_at_location_service_id"),
    "address": ("location_id", "ix_address_location_id"),
}
UNREAD_INDEXES = ["ix_service_municipality"]


def upgrade() -> None:
    bind = op.get_bind()
    # A table already keyed so (a schema written by this code and stamped older) is left as it is.
    for name in UNREAD_INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    for table, (parent, index) in KEYS.items():
        columns = ["directory_version_id", parent, "id"]
        key = sa.inspect(bind).get_pk_constraint(table)
        if key["constrained_columns"] == columns:
            continue
        if bind.dialect.name == "postgresql":
            key = key["name"]
            op.drop_index(index, table_name=table)
            op.execute(
                f"ALTER TABLE {table} DROP CONSTRAINT {key}, "
                f"ADD CONSTRAINT {key} PRIMARY KEY ({', '.join(columns)})"
            )
        else:
            _rebuild_sqlite(bind, table, columns, index)
        op.execute(f"ANALYZE {table}")


def _rebuild_sqlite(bind: sa.Connection, table: str, key: list[str], replaced_index: str) -> None:
    """`table` with `key` as its primary key, its rows and its other indexes as they were."""
    old = sa.Table(table, sa.MetaData(), autoload_with=bind)
    kept_indexes = [i for i in sa.inspect(bind).get_indexes(table) if i["name"] != replaced_index]
    rebuilt = f"{table}_rekeyed"
    sa.Table(
        rebuilt,
        sa.MetaData(),
        *(sa.Column(c.name, c.type, nullable=c.nullable, server_default=c.server_default) for c in old.c),
        sa.PrimaryKeyConstraint(*key),
    ).create(bind)
    names = ", ".join(c.name for c in old.c)
    op.execute(f"INSERT INTO {rebuilt} ({names}) SELECT {names} FROM {table}")
    op.drop_table(table)
    op.rename_table(rebuilt, table)
    for index in kept_indexes:
        op.create_index(index["name"], table, index["column_names"], unique=bool(index["unique"]))
