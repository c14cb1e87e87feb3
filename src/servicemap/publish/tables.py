"""The published directory's tables, named after the Open Referral HSDS 3.0 objects.

Every row carries the `directory_version_id` of the publish that wrote it: a version is a
complete copy of the directory, so a reader filters on the current version and never sees a
mix, and the previous version stays whole for a rollback. Columns that HSDS does not have
(municipality, inactive_since, ...) are extensions a Dutch directory needs. All tables live
in this one module so that the migrations can target `DIRECTORY_TABLES`.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    DateTime,
    Index,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    TypeDecorator,
    text,
)
from sqlmodel import Field, SQLModel

SERVICE_STATUSES = ("active", "inactive", "defunct", "temporarily closed")
_NAMESPACE = uuid.UUID("5b0c8b2e-7f59-4c0e-9a43-2f6d1c0e8a11")


_NAMESPACE_BYTES = _NAMESPACE.bytes


def stable_id(kind: str, *parts: object) -> str:
    """A uuid5 from an object's content, so an unchanged organisation keeps its id across runs.

    Computed as `uuid.uuid5` does, without building a `UUID`: a publish of 100,000 services
    makes a million of these ids."""
    key = "\x1f".join([kind, *("" if p is None else str(p) for p in parts)])
    h = hashlib.sha1(_NAMESPACE_BYTES + key.encode("utf-8")).hexdigest()
    # Version 5 in the 13th digit, the RFC 4122 variant in the two high bits of the 17th.
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


class UTCDateTime(TypeDecorator):
    """A moment in UTC on both backends: SQLite would otherwise drop the offset, and a naive
    value from a stage is taken to be UTC already."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _version() -> Any:
    return Field(primary_key=True, max_length=36)


def _keyed_by(parent: str) -> PrimaryKeyConstraint:
    """The key of a table read by its parent's id: (version, parent id, id), so that the one
    index a publish writes also finds a service's rows, instead of a second index beside the
    key (revision 0007)."""
    return PrimaryKeyConstraint("directory_version_id", parent, "id")


class DirectoryVersion(SQLModel, table=True):
    __tablename__ = "directory_version"
    __table_args__ = (
        # At most one current version, whatever a concurrent publish or rollback does.
        Index(
            "directory_version_one_current",
            "is_current",
            unique=True,
            sqlite_where=text("is_current"),
            postgresql_where=text("is_current"),
        ),
    )

    id: str = Field(primary_key=True, max_length=36)
    seq: int = Field(index=True, unique=True)
    published_at: datetime = Field(sa_type=UTCDateTime)
    run_id: str
    services: int
    inactive_services: int
    organizations: int
    source_records: int
    rejected: int
    is_current: bool = False
    # Set when an operator published although blocking checks failed: why, and which checks.
    override_reason: str | None = None
    overridden_checks: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class Organization(SQLModel, table=True):
    __tablename__ = "organization"

    directory_version_id: str = _version()
    id: str = Field(primary_key=True, max_length=36)
    name: str
    description: str = ""
    website: str | None = None


class Service(SQLModel, table=True):
    __tablename__ = "service"
    __table_args__ = (
        CheckConstraint(
            "status IN ('active', 'inactive', 'defunct', 'temporarily closed')", name="service_status"
        ),
        CheckConstraint("length(name) > 0", name="service_name_not_empty"),
        # Search's municipality filter reads one version's services of one municipality (0005).
        Index("ix_service_version_municipality", "directory_version_id", "municipality"),
        # A list without words is in name order: read in that order until enough pass (0005).
        Index("ix_service_version_name", "directory_version_id", "name", "id"),
    )

    directory_version_id: str = _version()
    id: str = Field(primary_key=True, max_length=36)
    organization_id: str | None = Field(default=None, max_length=36)
    name: str
    description: str | None = None
    url: str | None = None
    email: str | None = None
    status: str = "active"
    eligibility_description: str | None = None
    assured_date: str | None = None
    last_modified: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Extensions beside HSDS: what search filters on and what a round trip needs.
    inactive_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    municipality: str | None = None
    language: str | None = None
    emails: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    categories: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    field_lineage: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # When the directory first published the service, the newest crawl of any of its records,
    # and the publish at which its content last changed (revision 0002).
    first_seen: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_seen: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_changed: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Publishes in a row that its sources lacked it; 0 while they have it.
    inactive_runs: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # A digest of the fields a reader sees, to tell a changed service from a re-crawled one.
    content_hash: str | None = Field(default=None, max_length=64)


class Location(SQLModel, table=True):
    __tablename__ = "location"
    # Search's distance filter reads the locations within a bounding box first (0005).
    __table_args__ = (
        Index("ix_location_version_position", "directory_version_id", "latitude", "longitude", "id"),
    )

    directory_version_id: str = _version()
    id: str = Field(primary_key=True, max_length=36)
    location_type: str = "physical"
    organization_id: str | None = Field(default=None, max_length=36)
    name: str | None = None
    latitude: float | None = None
    longitude: float | None = None


class ServiceAtLocation(SQLModel, table=True):
    __tablename__ = "service_at_location"
    __table_args__ = (
        _keyed_by("service_id"),
        Index("ix_service_location_version_location", "directory_version_id", "location_id", "service_id"),
    )

    directory_version_id: str = Field(max_length=36)
    id: str = Field(max_length=36)
    service_id: str = Field(max_length=36)
    location_id: str = Field(max_length=36)


class Address(SQLModel, table=True):
    __tablename__ = "address"
    __table_args__ = (_keyed_by("location_id"),)

    directory_version_id: str = Field(max_length=36)
    id: str = Field(max_length=36)
    location_id: str = Field(max_length=36)
    address_1: str = ""
    city: str = ""
    postal_code: str = ""
    state_province: str = ""
    country: str = "NL"
    address_type: str = "physical"
    # The parts of address_1, kept so the record reads back as it was published.
    street: str | None = None
    house_number: str | None = None
    addition: str | None = None
    municipality: str | None = None


class Phone(SQLModel, table=True):
    __tablename__ = "phone"
    __table_args__ = (_keyed_by("service_id"),)

    directory_version_id: str = Field(max_length=36)
    id: str = Field(max_length=36)
    service_id: str = Field(max_length=36)
    number: str
    extension: str | None = None
    type: str | None = None
    description: str | None = None
    position: int = 0


class Schedule(SQLModel, table=True):
    __tablename__ = "schedule"
    __table_args__ = (_keyed_by("service_id"),)

    directory_version_id: str = Field(max_length=36)
    id: str = Field(max_length=36)
    service_id: str = Field(max_length=36)
    freq: str | None = None
    byday: str | None = None
    opens_at: str | None = None
    closes_at: str | None = None
    notes: str | None = None
    position: int = 0


class Taxonomy(SQLModel, table=True):
    __tablename__ = "taxonomy"

    directory_version_id: str = _version()
    id: str = Field(primary_key=True, max_length=36)
    name: str
    description: str = ""


class TaxonomyTerm(SQLModel, table=True):
    __tablename__ = "taxonomy_term"

    directory_version_id: str = _version()
    id: str = Field(primary_key=True, max_length=36)
    code: str
    name: str
    description: str = ""
    taxonomy_id: str = Field(max_length=36)
    taxonomy: str


class Attribute(SQLModel, table=True):
    __tablename__ = "attribute"
    __table_args__ = (_keyed_by("link_id"),)

    directory_version_id: str = Field(max_length=36)
    id: str = Field(max_length=36)
    link_id: str = Field(max_length=36)
    link_type: str
    link_entity: str = "service"
    taxonomy_term_id: str = Field(max_length=36)
    value: str | None = None
    label: str | None = None


class ServiceDomain(SQLModel, table=True):
    __tablename__ = "service_domain"
    # A domain filter starts from the services with that domain, not from every service (0005).
    __table_args__ = (Index("ix_service_domain_version_domain", "directory_version_id", "domain"),)

    directory_version_id: str = _version()
    service_id: str = Field(primary_key=True, max_length=36)
    domain: str = Field(primary_key=True)
    confidence: float
    evidence: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class ServiceFacet(SQLModel, table=True):
    __tablename__ = "service_facet"
    __table_args__ = (Index("ix_service_facet_version_term", "directory_version_id", "taxonomy", "term"),)

    directory_version_id: str = _version()
    service_id: str = Field(primary_key=True, max_length=36)
    taxonomy: str = Field(primary_key=True)
    term: str = Field(primary_key=True)
    confidence: float
    evidence: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class SourceRecord(SQLModel, table=True):
    __tablename__ = "source_record"

    directory_version_id: str = _version()
    service_id: str = Field(primary_key=True, max_length=36)
    record_id: str = Field(primary_key=True)
    source_id: str
    url: str
    fetched_at: datetime = Field(sa_type=UTCDateTime)


class RejectedRecord(SQLModel, table=True):
    __tablename__ = "rejected_record"

    directory_version_id: str = _version()
    position: int = Field(primary_key=True)
    record_id: str
    source_id: str
    url: str
    stage: str
    reason: str
    raw: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class SynonymGroup(SQLModel, table=True):
    """Words a search treats as one, as the classifier's taxonomy gave them at publish time."""

    __tablename__ = "synonym_group"

    directory_version_id: str = _version()
    position: int = Field(primary_key=True)
    words: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class ServiceDocument(SQLModel, table=True):
    """A service as one HSDS 3.0 object, in the JSON `/services/{id}` sends (`body`), and as a
    page of `/services` lists it (`listing`): written by the publish from the version's rows
    (see `servicemap.publish.documents`)."""

    __tablename__ = "service_document"

    directory_version_id: str = _version()
    service_id: str = Field(primary_key=True, max_length=36)
    body: str = Field(sa_column=Column(Text, nullable=False))
    listing: str = Field(sa_column=Column(Text, nullable=False))


# Tables whose rows belong to one directory version, in the order a publish writes them.
VERSIONED_TABLES: list[type[SQLModel]] = [
    Organization,
    Service,
    Location,
    ServiceAtLocation,
    Address,
    Phone,
    Schedule,
    Taxonomy,
    TaxonomyTerm,
    Attribute,
    ServiceDomain,
    ServiceFacet,
    SourceRecord,
    RejectedRecord,
    SynonymGroup,
    ServiceDocument,
]

# Alembic's record of the schema revision, declared here (as Alembic creates it) so that
# dropping DIRECTORY_TABLES drops the revision with the tables it describes.
VERSION_TABLE = "directory_schema_version"
schema_version = Table(
    VERSION_TABLE,
    MetaData(),
    Column("version_num", String(32), nullable=False),
    PrimaryKeyConstraint("version_num", name=f"{VERSION_TABLE}_pkc"),
)
DIRECTORY_TABLES: list[Table] = [
    DirectoryVersion.__table__,
    *(t.__table__ for t in VERSIONED_TABLES),
    schema_version,
]
