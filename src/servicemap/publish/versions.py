"""Atomic, versioned publishing: a whole directory is written and made current in one
transaction, so a reader sees the old directory or the new one and a failed publish leaves
the last good one in place; the versions before it are kept for a rollback."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from functools import partial

from pydantic import BaseModel, Field
from sqlalchemy import Connection, Engine, RowMapping, delete, func, select, update
from sqlalchemy.exc import SQLAlchemyError

from servicemap.publish import tables as t
from servicemap.publish.db import engine_for, reading
from servicemap.publish.documents import write_service_documents
from servicemap.publish.pipeline import BackgroundWrites, publish_settings
from servicemap.publish.rows import (
    History,
    PublishedService,
    VersionRows,
    content_hash,
    load_services,
    same_content,
    search_document,
    service_content,
    write_rows,
)
from servicemap.publish.schema import migrate
from servicemap.publish.search_index import (
    analyze_searched_tables,
    drop_versions,
    index_rows,
    write_index,
)
from servicemap.records import ClassifiedService, Rejection
from servicemap.secrets import redact_url

DEFAULT_KEEP_VERSIONS = 3
DEFAULT_KEEP_INACTIVE_RUNS = 3
# Services whose rows go to the database together while the next ones are built: large
# enough that a COPY and an INSERT cost little per row, small enough that the first batch is
# written early and the last one leaves little to wait for.
_WRITE_BATCH = 10_000
_version_table = t.DirectoryVersion.__table__
_ensured: set[str] = set()
_migrating = threading.Lock()


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
    override_reason: str | None = None
    overridden_checks: list[str] | None = None


class PublishOverride(BaseModel):
    """An operator's decision to publish although blocking checks failed: kept in the version
    row, so that anyone can later see why a version went out and which checks it skipped."""

    reason: str
    checks: list[str]


def directory_engine(url: str) -> Engine:
    """The engine for `url`, with the directory schema migrated to the newest revision on first use."""
    if url not in _ensured:
        # Once per process: the first requests of a fresh API worker arrive together, and
        # Alembic's environment is not safe to run from two threads at once.
        with _migrating:
            if url not in _ensured:
                migrate(url)
                _ensured.add(url)
    return engine_for(url)


def _safe(url: str) -> str:
    return redact_url(url)


def publish_directory(
    url: str,
    services: list[ClassifiedService],
    rejected: list[Rejection],
    run_id: str,
    *,
    synonyms: list[list[str]] | None = None,
    keep_versions: int = DEFAULT_KEEP_VERSIONS,
    keep_inactive_runs: int = DEFAULT_KEEP_INACTIVE_RUNS,
    now: datetime | None = None,
    override: PublishOverride | None = None,
) -> PublishedVersion:
    """Write `services` as the new current directory version in one transaction.

    A service of the current version that this run lacks stays, with status 'inactive' and
    the date it went missing, for `keep_inactive_runs` publishes in a row (a source that is
    down for a day does not empty the directory); then it is removed. Each service keeps the
    publish that first had it and the one at which its content last changed. Versions beyond
    the newest `keep_versions` are pruned. An `override` (failed checks published anyway) is
    recorded in the version row.
    """
    if keep_versions < 2:
        raise PublishError(f"keep_versions={keep_versions}: at least 2 are needed to keep one for rollback")
    if keep_inactive_runs < 0:
        raise PublishError(f"keep_inactive_runs={keep_inactive_runs}: expected 0 or more publishes")
    if override is not None and not override.reason.strip():
        raise PublishError(f"run {run_id!r}: an override of {override.checks} needs a reason, got none")
    problems = [f"service {s.name!r}: id {s.id!r} is not a UUID" for s in services if not _is_uuid(s.id)]
    if problems:
        raise PublishError(f"run {run_id!r} not published: " + "; ".join(problems))
    engine = directory_engine(url)
    now = now or datetime.now(UTC)
    try:
        with engine.connect() as connection, publish_settings(connection), connection.begin():
            return _publish(
                connection,
                services,
                rejected,
                run_id,
                synonyms or [],
                keep_versions,
                keep_inactive_runs,
                now,
                override,
            )
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
    keep_inactive_runs: int,
    now: datetime,
    override: PublishOverride | None,
) -> PublishedVersion:
    _lock_versions(connection)
    previous = _current_row(connection)
    version_id = str(uuid.uuid4())
    rows = VersionRows(version_id)
    before = _service_states(connection, previous["id"]) if previous is not None else {}
    unknown = [s.id for s in services if s.id in before and before[s.id]["content_hash"] is None]
    # Services published before revision 0002 have no digest: compare them as they were published.
    old_digests = (
        {s.id: content_hash(s) for s in _load(connection, previous["id"], unknown)} if unknown else {}
    )
    present = {s.id for s in services}
    missing = [
        i for i, state in before.items() if i not in present and state["inactive_runs"] < keep_inactive_runs
    ]
    # Read before the writes start: from then on they have the connection.
    carried = _load(connection, previous["id"], missing) if missing else []
    with BackgroundWrites(connection) as writes:
        for number, service in enumerate(services, start=1):
            digest = content_hash(service)
            state = before.get(service.id)
            if state is None:
                history = History(first_seen=now, last_changed=now)
            else:
                stored = state["content_hash"] or old_digests.get(service.id)
                unchanged = stored is not None and same_content(stored, service, digest)
                history = History(
                    first_seen=state["first_seen"] or now,
                    last_changed=state["last_changed"] if unchanged and state["last_changed"] else now,
                )
            rows.add_service(service, history, digest)
            if number % _WRITE_BATCH == 0:
                writes.submit(partial(write_rows, batch=rows.take_unwritten()))
        for service in carried:
            state = before[service.id]
            history = History(
                first_seen=state["first_seen"] or now,
                last_changed=state["last_changed"] or now,
                status="inactive",
                inactive_since=state["inactive_since"] if state["status"] == "inactive" else now,
                inactive_runs=state["inactive_runs"] + 1,
            )
            rows.add_service(service, history, state["content_hash"] or content_hash(service))
        rows.add_rejections(rejected)
        rows.add_synonyms(synonyms)
        writes.submit(partial(write_rows, batch=rows.take_unwritten()))
        writes.submit(partial(write_service_documents, version_id=version_id))
        # Built while the last rows and the service documents are written; on SQLite a search
        # document's rowid is its service row's, so the index is written after them on both backends.
        documents = [search_document(s) for s in (*services, *carried)]
        search_rows = index_rows(connection.dialect.name, version_id, documents)
        writes.submit(partial(write_index, version_id=version_id, rows=search_rows))
        writes.submit(analyze_searched_tables)

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
        override_reason=override.reason.strip() if override else None,
        overridden_checks=sorted(override.checks) if override else None,
    )
    connection.execute(update(_version_table).values(is_current=False))
    connection.execute(_version_table.insert().values(**version.model_dump()))
    _prune(connection, keep_versions)
    return version


def _lock_versions(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        # One publish or rollback at a time; plain reads (ACCESS SHARE) are not blocked.
        connection.exec_driver_sql("LOCK TABLE directory_version IN EXCLUSIVE MODE")


def _service_states(connection: Connection, version_id: str) -> dict[str, RowMapping]:
    """What the next publish carries forward of each service of `version_id`."""
    service = t.Service.__table__.c
    query = select(
        service.id,
        service.name,
        service.status,
        service.first_seen,
        service.last_changed,
        service.inactive_since,
        service.inactive_runs,
        service.content_hash,
    ).where(service.directory_version_id == version_id)
    return {row["id"]: row for row in connection.execute(query).mappings()}


_LOAD_CHUNK = 5000  # below every backend's limit on bound parameters


def _load(connection: Connection, version_id: str, service_ids: list[str]) -> list[PublishedService]:
    return [
        service
        for start in range(0, len(service_ids), _LOAD_CHUNK)
        for service in load_services(connection, version_id, service_ids[start : start + _LOAD_CHUNK])
    ]


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


def current_version(url: str, connection: Connection | None = None) -> PublishedVersion:
    """The current version; read on `connection` when given, so that a reader's later queries
    in that transaction see this version's rows even if a publish prunes it meanwhile."""
    if connection is not None:
        row = _current_row(connection)
    else:
        with reading(directory_engine(url)) as own:
            row = _current_row(own)
    if row is None:
        raise NoDirectoryPublished(f"{_safe(url)} has no published directory yet")
    return PublishedVersion.model_validate(dict(row))


def list_versions(url: str) -> list[PublishedVersion]:
    """Every kept version, newest first."""
    with reading(directory_engine(url)) as connection:
        rows = connection.execute(select(_version_table).order_by(_version_table.c.seq.desc())).mappings()
        return [PublishedVersion.model_validate(dict(r)) for r in rows]


def rollback(url: str) -> PublishedVersion:
    """Make the version published before the current one current again."""
    with directory_engine(url).begin() as connection:
        _lock_versions(connection)
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
    with reading(engine) as connection:
        if version_id is None:
            row = _current_row(connection)
            if row is None:
                raise NoDirectoryPublished(f"{_safe(url)} has no published directory yet")
            version_id = row["id"]
        return load_services(connection, version_id)


class VersionNotFound(LookupError):
    """A directory version id that the database does not keep (never published, or pruned)."""


class ServiceChange(BaseModel):
    """One service in a comparison of two versions; `fields` names what changed."""

    id: str
    name: str
    fields: list[str] = Field(default_factory=list)


class VersionChanges(BaseModel):
    """What a newer version did to the directory: services it added, changed, marked inactive
    (its sources no longer have them) and removed, each sorted by name."""

    old_version_id: str
    new_version_id: str
    new: list[ServiceChange]
    changed: list[ServiceChange]
    inactive: list[ServiceChange]
    removed: list[ServiceChange]


def changes_between(url: str, old_version_id: str, new_version_id: str) -> VersionChanges:
    """Compare two kept versions service by service, and a changed service field by field."""
    with reading(directory_engine(url)) as connection:
        kept = set(connection.execute(select(_version_table.c.id)).scalars())
        for version_id in (old_version_id, new_version_id):
            if version_id not in kept:
                raise VersionNotFound(
                    f"{_safe(url)}: version {version_id!r} is not kept; kept versions: {sorted(kept)}"
                )
        old = _service_states(connection, old_version_id)
        new = _service_states(connection, new_version_id)
        both = [i for i in new if i in old]
        # Equal digests mean equal content; anything else is compared field by field.
        candidates = [
            i
            for i in both
            if old[i]["status"] != new[i]["status"]
            or old[i]["content_hash"] is None
            or old[i]["content_hash"] != new[i]["content_hash"]
        ]
        old_services = {s.id: s for s in _load(connection, old_version_id, candidates)}
        new_services = {s.id: s for s in _load(connection, new_version_id, candidates)}

    def entry(state: RowMapping, fields: list[str] = ()) -> ServiceChange:
        return ServiceChange(id=state["id"], name=state["name"], fields=list(fields))

    changed = []
    for i in candidates:
        if new[i]["status"] == "inactive" and old[i]["status"] != "inactive":
            continue  # reported as inactive
        before, after = service_content(old_services[i]), service_content(new_services[i])
        fields = sorted(f for f in after if after[f] != before[f])
        if old[i]["status"] != new[i]["status"]:
            fields.append("status")
        if fields:
            changed.append(entry(new[i], fields))
    inactive = [
        entry(state)
        for i, state in new.items()
        if state["status"] == "inactive" and (i not in old or old[i]["status"] != "inactive")
    ]

    def by_name(entries: list[ServiceChange]) -> list[ServiceChange]:
        return sorted(entries, key=lambda e: (e.name, e.id))

    return VersionChanges(
        old_version_id=old_version_id,
        new_version_id=new_version_id,
        new=by_name([entry(state) for i, state in new.items() if i not in old]),
        changed=by_name(changed),
        inactive=by_name(inactive),
        removed=by_name([entry(state) for i, state in old.items() if i not in new]),
    )


class ServiceNotFound(LookupError):
    """No service with this id in the current directory."""


def read_service(url: str, service_id: str) -> PublishedService:
    """One service of the current version, with its labels and lineage."""
    with reading(directory_engine(url)) as connection:
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
    with reading(directory_engine(url)) as connection:
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
