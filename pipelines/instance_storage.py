"""The Dagster instance's run, event and schedule storage, chosen when the instance loads: SQLite
under `base_dir` by default, PostgreSQL when SERVICEMAP_DAGSTER_PG_URL is set. One dagster.yaml
serves a laptop and a cluster, and Celery workers, which rebuild the instance from its reference,
choose the same way from their own environment."""

from __future__ import annotations

import os

import dagster as dg
from dagster._core.storage.base_storage import DagsterStorage
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage
from dagster._serdes import ConfigurableClass

PG_URL_VARIABLE = "SERVICEMAP_DAGSTER_PG_URL"


class InvalidInstanceStorageURL(ValueError):
    """SERVICEMAP_DAGSTER_PG_URL holds something that is not a PostgreSQL URL."""


class SqliteOrPostgresStorage(DagsterStorage, ConfigurableClass):
    """A factory, never instantiated: `from_config_value` returns Dagster's own SQLite or
    PostgreSQL storage. The URL is referred to by variable name, so that no password is
    written into the instance reference that Dagster hands to each step's process (which
    therefore needs the variable too)."""

    @classmethod
    def config_type(cls):
        return {
            "base_dir": dg.StringSource,
            "postgres_url_variable": dg.Field(str, default_value=PG_URL_VARIABLE),
        }

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> DagsterStorage:  # ty: ignore[invalid-method-override]
        variable = config_value["postgres_url_variable"]
        url = os.environ.get(variable, "").strip()
        if not url:
            return DagsterSqliteStorage.from_local(config_value["base_dir"])
        scheme, _, rest = url.partition("://")
        if scheme not in ("postgresql", "postgres", "postgresql+psycopg2") or not rest:
            shown = url.split("@")[-1]  # never the password
            raise InvalidInstanceStorageURL(
                f"{variable}: '…@{shown}' is not a PostgreSQL URL "
                "(expected postgresql://user[:password]@host:port/database)"
            )
        from dagster_postgres import DagsterPostgresStorage

        # dagster-postgres speaks psycopg2; SQLAlchemy 2.1 would pick psycopg 3 for postgresql://
        return DagsterPostgresStorage(postgres_url=f"postgresql+psycopg2://{rest}")
