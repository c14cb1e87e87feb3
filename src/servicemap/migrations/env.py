"""Alembic's entry point for the directory schema. It is always run by
`servicemap.publish.schema.upgrade`, which hands over an open connection: the database URL
comes from the caller, never from a file."""

from __future__ import annotations

from alembic import context

from servicemap.publish.schema import DIRECTORY_METADATA, VERSION_TABLE, is_directory_object

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=DIRECTORY_METADATA,
    version_table=VERSION_TABLE,
    include_name=is_directory_object,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
