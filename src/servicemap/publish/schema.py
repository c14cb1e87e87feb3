"""The directory schema, created and upgraded by the Alembic migrations in
`servicemap.migrations`, so that an existing database keeps its published versions when the
schema changes."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, inspect

from servicemap.publish.db import engine_for
from servicemap.publish.tables import DIRECTORY_TABLES, VERSION_TABLE

# The directory's tables only: other modules may keep their own tables in SQLModel.metadata.
DIRECTORY_METADATA = MetaData()
for _table in DIRECTORY_TABLES:
    if _table.name != VERSION_TABLE:
        _table.to_metadata(DIRECTORY_METADATA)


def is_directory_object(name: str | None, type_: str, parent_names: dict) -> bool:
    """Alembic compares only the directory's tables: the search index is raw DDL of its own,
    and another module's table is not the directory's to drop."""
    if type_ == "table":
        return name in DIRECTORY_METADATA.tables
    return True


def _config() -> Config:
    config = Config()
    # A package resource, so the migrations are found from an installed package as well.
    config.set_main_option("script_location", "servicemap:migrations")
    return config


def head_revision() -> str:
    """The newest schema revision this code knows."""
    return ScriptDirectory.from_config(_config()).get_current_head()


# The revision whose schema the directory had before it was migrated by Alembic.
BASELINE_REVISION = "0001"


def create_schema(engine: Engine, revision: str = "head") -> None:
    """Bring the database behind `engine` to `revision` (the newest by default): an empty
    database is created, an older one is upgraded in place, one at that revision is left alone.
    A directory created before the migrations existed is taken to be at the baseline."""
    config = _config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        tables = set(inspect(connection).get_table_names())
        if VERSION_TABLE not in tables and "directory_version" in tables:
            command.stamp(config, BASELINE_REVISION)
        command.upgrade(config, revision)


def migrate(url: str, revision: str = "head") -> None:
    """Upgrade the directory database at `url` to `revision` (the newest by default)."""
    create_schema(engine_for(url), revision)


def schema_revision(url: str) -> str | None:
    """The revision the database at `url` is at; None for a database without the directory."""
    with engine_for(url).connect() as connection:
        return MigrationContext.configure(
            connection, opts={"version_table": VERSION_TABLE}
        ).get_current_revision()
