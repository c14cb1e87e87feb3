"""The published directory: HSDS-shaped tables, written as atomic versions."""

from servicemap.publish.db import DEFAULT_URL, UnsupportedDatabase, backend, engine_for
from servicemap.publish.rows import DOMAIN_TAXONOMY, PublishedService
from servicemap.publish.tables import DIRECTORY_TABLES, create_schema, stable_id
from servicemap.publish.versions import (
    DEFAULT_KEEP_VERSIONS,
    NoDirectoryPublished,
    PublishedVersion,
    PublishError,
    RollbackError,
    ServiceNotFound,
    current_version,
    directory_engine,
    list_versions,
    publish_directory,
    published_membership,
    read_service,
    read_services,
    rollback,
)

__all__ = [
    "DEFAULT_KEEP_VERSIONS",
    "DEFAULT_URL",
    "DIRECTORY_TABLES",
    "DOMAIN_TAXONOMY",
    "NoDirectoryPublished",
    "PublishError",
    "PublishedService",
    "PublishedVersion",
    "RollbackError",
    "ServiceNotFound",
    "UnsupportedDatabase",
    "backend",
    "create_schema",
    "current_version",
    "directory_engine",
    "engine_for",
    "list_versions",
    "published_membership",
    "publish_directory",
    "read_service",
    "read_services",
    "rollback",
    "stable_id",
]
