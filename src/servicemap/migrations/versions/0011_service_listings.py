"""Each stored service document also holds the service's listing (`service_document.listing`):
its one-to-one fields, as a page of `/services` lists it (HSDS 3.0's service_list), read
as one column instead of the full object. Documents stored before get their listing from
their body; versions published before revision 0010 get their documents as a publish now
writes them (a version that has some is left as it is).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-24 08:00:00
"""

from collections.abc import Sequence

import orjson
import sqlalchemy as sa
from alembic import op

from servicemap.publish.documents import service_listing, write_service_documents

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Documents whose listings are written per statement: their bodies are some 5 KB each.
BATCH = 1000

_documents = sa.table(
    "service_document",
    sa.column("directory_version_id"),
    sa.column("service_id"),
    sa.column("body"),
    sa.column("listing"),
)


def upgrade() -> None:
    bind = op.get_bind()
    if "listing" not in {c["name"] for c in sa.inspect(bind).get_columns("service_document")}:
        op.add_column("service_document", sa.Column("listing", sa.Text(), nullable=True))
        _list_stored_documents(bind)
        # On SQLite the table is rebuilt with its rows; on PostgreSQL the column is altered.
        with op.batch_alter_table("service_document") as batch:
            batch.alter_column("listing", existing_type=sa.Text(), nullable=False)
    undocumented = bind.exec_driver_sql(
        "SELECT id FROM directory_version WHERE id NOT IN (SELECT directory_version_id FROM service_document)"
    )
    for version_id in undocumented.scalars().all():
        write_service_documents(bind, version_id)


def _list_stored_documents(bind: sa.Connection) -> None:
    """Write the listing of every stored document from its body, BATCH documents a statement."""
    update = (
        sa.update(_documents)
        .where(
            _documents.c.directory_version_id == sa.bindparam("version"),
            _documents.c.service_id == sa.bindparam("service"),
        )
        .values(listing=sa.bindparam("listed"))
    )
    keys = bind.execute(
        sa.select(_documents.c.directory_version_id, _documents.c.service_id).order_by(
            _documents.c.directory_version_id, _documents.c.service_id
        )
    ).all()
    for start in range(0, len(keys), BATCH):
        batch = keys[start : start + BATCH]
        for version_id in sorted({version for version, _ in batch}):
            ids = [service for version, service in batch if version == version_id]
            bodies = bind.execute(
                sa.select(_documents.c.service_id, _documents.c.body).where(
                    _documents.c.directory_version_id == version_id, _documents.c.service_id.in_(ids)
                )
            ).all()
            bind.execute(
                update,
                [
                    {
                        "version": version_id,
                        "service": service_id,
                        "listed": orjson.dumps(service_listing(orjson.loads(body))).decode(),
                    }
                    for service_id, body in bodies
                ],
            )
