"""Atomic, versioned publishing: a whole directory is written and made current in one
transaction, so a reader sees the old directory or the new one and a failed publish leaves
the last good one in place; the versions before it are kept for a rollback."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from pydantic import BaseModel
from sqlalchemy import Connection, Engine, delete, func, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from servicemap.publish import tables as t
from servicemap.publish.db import engine_for
from servicemap.publish.rows import PublishedService, VersionRows, load_services
from servicemap.publish.search_index import drop_versions, index_documents
from servicemap.records import ClassifiedService, Rejection

DEFAULT_KEEP_VERSIONS = 3
_version_table = t.DirectoryVersion.__table__
_ensured: set[str] = set()


class PublishError(RuntimeError):
    """A publish that was refused or failed; the version that was current stays current."""


class RollbackError(RuntimeError):
    """No older version is kept to roll back to."""


class NoDirectoryPublished(LookupError):
    """The database has no current directory version yet."""


class PublishedVersion(BaseModel):
    id: str
    seq: int
    published_at: datetime
    run_id: str
    services: int
    inactive_services: int
    organizations: int
    source_records: int
    rejected: int
    is_current: bool


def directory_engine(url: str) -> Engine:
    """The engine for `url`, with the directory schema created on first use."""
    engine = engine_for(url)
    if url not in _ensured:
        t.create_schema(engine)
        _ensured.add(url)
    return engine


def _safe(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def publish_directory(
    url: str,
    services: list[ClassifiedService],
    rejected: list[Rejection],
    run_id: str,
    *,
    synonyms: list[list[str]] | None = None,
    keep_versions: int = DEFAULT_KEEP_VERSIONS,
    now: datetime | None = None,
) -> PublishedVersion:
    """Write `services` as the new current directory version in one transaction.

    Services of the current version that this run lacks are carried one more version with
    status 'inactive' (a source that is down for a day does not empty the directory);
    versions beyond the newest `keep_versions` are pruned.
    """
    if keep_versions < 2:
        raise PublishError(f"keep_versions={keep_versions}: at least 2 are needed to keep one for rollback")
    problems = [f"service {s.name!r}: id {s.id!r} is not a UUID" for s in services if not _is_uuid(s.id)]
    if problems:
        raise PublishError(f"run {run_id!r} not published: " + "; ".join(problems))
    engine = directory_engine(url)
    now = now or datetime.now(UTC)
    try:
        with engine.begin() as connection:
            return _publish(connection, services, rejected, run_id, synonyms or [], keep_versions, now)
    except SQLAlchemyError as exc:
        cause = getattr(exc, "orig", None) or exc
        raise PublishError(
            f"run {run_id!r} could not be published to {_safe(url)}; "
            f"the current version is unchanged: {cause}"
        ) from exc


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _publish(
    connection: Connection,
    services: list[ClassifiedService],
    rejected: list[Rejection],
    run_id: str,
    synonyms: list[list[str]],
    keep_versions: int,
    now: datetime,
) -> PublishedVersion:
    if connection.dialect.name == "postgresql":
        # One publish at a time; plain reads (ACCESS SHARE) are not blocked.
        connection.exec_driver_sql("LOCK TABLE directory_version IN EXCLUSIVE MODE")
    previous = _current_row(connection)
    version_id = str(uuid.uuid4())
    rows = VersionRows(version_id)
    for service in services:
        rows.add_service(service)
    present = {s.id for s in services}
    carried = []
    if previous is not None:
        carried = [
            s
            for s in load_services(connection, previous["id"])
            if s.id not in present and s.status != "inactive"
        ]
    for service in carried:
        rows.add_service(service, status="inactive", inactive_since=now)
    rows.add_rejections(rejected)
    rows.add_synonyms(synonyms)
    rows.write(connection)
    index_documents(connection, version_id, rows.documents)

    seq = (connection.execute(select(func.max(_version_table.c.seq))).scalar() or 0) + 1
    version = PublishedVersion(
        id=version_id,
        seq=seq,
        published_at=now,
        run_id=run_id,
        services=len(services) + len(carried),
        inactive_services=len(carried),
        organizations=rows.count(t.Organization),
        # This run's lineage only: crawled = published members + rejected must add up per run.
        source_records=sum(len({m.record_id for m in s.members}) for s in services),
        rejected=len(rejected),
        is_current=True,
    )
    connection.execute(update(_version_table).values(is_current=False))
    connection.execute(_version_table.insert().values(**version.model_dump()))
    _prune(connection, keep_versions)
    return version


def _current_row(connection: Connection):
    query = select(_version_table).where(_version_table.c.is_current.is_(True))
    return connection.execute(query).mappings().first()


def _prune(connection: Connection, keep_versions: int) -> None:
    versions = connection.execute(
        select(_version_table.c.id, _version_table.c.is_current).order_by(_version_table.c.seq.desc())
    ).all()
    old = [v.id for v in versions[keep_versions:] if not v.is_current]
    if not old:
        return
    for table in t.VERSIONED_TABLES:
        connection.execute(delete(table.__table__).where(table.__table__.c.directory_version_id.in_(old)))
    drop_versions(connection, old)
    connection.execute(delete(_version_table).where(_version_table.c.id.in_(old)))


def current_version(url: str) -> PublishedVersion:
    with directory_engine(url).connect() as connection:
        row = _current_row(connection)
    if row is None:
        raise NoDirectoryPublished(f"{_safe(url)} has no published directory yet")
    return PublishedVersion.model_validate(dict(row))


def list_versions(url: str) -> list[PublishedVersion]:
    """Every kept version, newest first."""
    with directory_engine(url).connect() as connection:
        rows = connection.execute(select(_version_table).order_by(_version_table.c.seq.desc())).mappings()
        return [PublishedVersion.model_validate(dict(r)) for r in rows]


def rollback(url: str) -> PublishedVersion:
    """Make the version published before the current one current again."""
    with directory_engine(url).begin() as connection:
        current = _current_row(connection)
        if current is None:
            raise RollbackError(f"{_safe(url)} has no published directory to roll back")
        older = (
            connection.execute(
                select(_version_table)
                .where(_version_table.c.seq < current["seq"])
                .order_by(_version_table.c.seq.desc())
            )
            .mappings()
            .first()
        )
        if older is None:
            raise RollbackError(
                f"{_safe(url)}: version {current['id']} (run {current['run_id']!r}) is the oldest kept; "
                "there is nothing to roll back to"
            )
        connection.execute(update(_version_table).values(is_current=False))
        connection.execute(
            update(_version_table).where(_version_table.c.id == older["id"]).values(is_current=True)
        )
        return PublishedVersion.model_validate({**older, "is_current": True})


def read_services(url: str, version_id: str | None = None) -> list[PublishedService]:
    """The services of a version (the current one by default), as they were published."""
    engine = directory_engine(url)
    with engine.connect() as connection:
        if version_id is None:
            row = _current_row(connection)
            if row is None:
                raise NoDirectoryPublished(f"{_safe(url)} has no published directory yet")
            version_id = row["id"]
        return load_services(connection, version_id)


class ServiceNotFound(LookupError):
    """No service with this id in the current directory."""


def read_service(url: str, service_id: str) -> PublishedService:
    """One service of the current version, with its labels and lineage."""
    with directory_engine(url).connect() as connection:
        row = _current_row(connection)
        if row is None:
            raise NoDirectoryPublished(f"{_safe(url)} has no published directory yet")
        found = load_services(connection, row["id"], service_ids=[service_id])
    if not found:
        raise ServiceNotFound(f"no service with id {service_id!r} in directory version {row['id']}")
    return found[0]


def published_membership(url: str) -> dict[str, list[str]]:
    """Which record ids each service of the current version was built from. The dedup stage
    matches new clusters against it so that services keep their ids. Empty before a first publish."""
    with directory_engine(url).connect() as connection:
        row = _current_row(connection)
        if row is None:
            return {}
        source = t.SourceRecord.__table__
        query = select(source.c.service_id, source.c.record_id).where(
            source.c.directory_version_id == row["id"]
        )
        membership: dict[str, list[str]] = {}
        for service_id, record_id in connection.execute(query):
            membership.setdefault(service_id, []).append(record_id)
        return membership
