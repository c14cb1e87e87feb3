"""The data contracts between the stages: what a spider yields, what normalisation keeps,
what a rejection says, and what every stage over many records returns."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Generic, TypeVar

from pydantic import BaseModel, Field

from servicemap.reporting import markdown_table

EXTRACTIONS = ("hsds_api", "samenwerkende_catalogi", "schema_org", "html")


class RawFields(BaseModel):
    """A service as an extractor found it on one page or feed entry: nothing cleaned.

    `key` identifies the entry within its source across crawls (an HSDS id, an SC product
    id, or the page path); the spider fills it from the URL when the extractor has none.
    """

    key: str | None = None
    service_name: str | None = None
    organization_name: str | None = None
    description: str | None = None
    address_lines: list[str] = Field(default_factory=list)
    postcode: str | None = None
    city: str | None = None
    phones: list[str] = Field(default_factory=list)
    emails: list[str] = Field(default_factory=list)
    website: str | None = None
    opening_hours: list[str] = Field(default_factory=list)
    audience: str | None = None
    categories: list[str] = Field(default_factory=list)
    latitude: str | None = None
    longitude: str | None = None
    language: str | None = None
    extra: dict[str, str] = Field(default_factory=dict)


class RawRecord(RawFields):
    """The raw-record contract: what every spider yields, whatever the source kind."""

    source_id: str
    key: str
    url: str
    fetched_at: datetime
    extraction: str

    @property
    def record_id(self) -> str:
        """Unique over the whole run: lineage and rejections point at records by it."""
        return f"{self.source_id}:{self.key}"


class Phone(BaseModel):
    """A phone number in E.164 with what kind of line it is and the label a site gave it."""

    number: str
    kind: str
    label: str | None = None
    extension: str | None = None


class Address(BaseModel):
    street: str | None = None
    house_number: str | None = None
    addition: str | None = None
    postcode: str | None = None
    city: str | None = None
    municipality: str | None = None

    def one_line(self) -> str:
        """'Oudegracht 12 bis, 3511 AB Brederwijk': how a person reads an address."""
        street = " ".join(p for p in (self.street, self.house_number, self.addition) if p)
        place = " ".join(p for p in (self.postcode, self.city) if p)
        return ", ".join(p for p in (street, place) if p)


class ScheduleRow(BaseModel):
    """One HSDS `schedule` row: a weekday (MO..SU) with hours, or only a note when the
    text could not be read with certainty."""

    weekday: str | None = None
    opens_at: str | None = None
    closes_at: str | None = None
    note: str | None = None


class NormalizedRecord(BaseModel):
    """A crawled record in one clean form, still one record per source entry."""

    record_id: str
    source_id: str
    url: str
    fetched_at: datetime
    extraction: str
    name: str
    organization: str | None = None
    description: str | None = None
    address: Address | None = None
    phones: list[Phone] = Field(default_factory=list)
    emails: list[str] = Field(default_factory=list)
    website: str | None = None
    schedules: list[ScheduleRow] = Field(default_factory=list)
    audience: str | None = None
    categories: list[str] = Field(default_factory=list)
    latitude: float | None = None
    longitude: float | None = None
    language: str | None = None
    municipality: str | None = None
    extra: dict[str, str] = Field(default_factory=dict)


class Rejection(BaseModel):
    """A record set aside, with a reason a person can read and its raw form kept, so that
    a fixed stage can be re-run from the stored crawl."""

    record_id: str
    source_id: str
    url: str
    stage: str
    reason: str
    raw: dict


T = TypeVar("T")


class StageResult(BaseModel, Generic[T]):
    """What a stage over many records returns: nothing is dropped, every record is either
    kept or rejected with its reason."""

    kept: list[T] = Field(default_factory=list)
    rejected: list[Rejection] = Field(default_factory=list)

    @property
    def rejection_rate(self) -> float:
        total = len(self.kept) + len(self.rejected)
        return len(self.rejected) / total if total else 0.0

    def reason_counts(self) -> Counter[str]:
        return Counter(r.reason for r in self.rejected)

    def reasons_markdown(self) -> str:
        """A small table for Dagster metadata: reason, count, an example URL."""
        examples = {}
        for rejection in self.rejected:
            examples.setdefault(rejection.reason, rejection.url)
        rows = [(reason, count, examples[reason]) for reason, count in self.reason_counts().most_common()]
        return markdown_table(["reason", "count", "example"], rows, empty="No records rejected.")

    def rejected_urls(self, limit: int = 10) -> list[str]:
        return [r.url for r in self.rejected[:limit]]


class SourceRef(BaseModel):
    """One crawled record behind a published service: the lineage a professional can check."""

    record_id: str
    source_id: str
    url: str
    fetched_at: datetime


class FieldLineage(BaseModel):
    """Where one published value came from."""

    record_id: str
    url: str
    seen_at: datetime


class DirectoryService(BaseModel):
    """The golden record of one service: its fields chosen from the members of its cluster."""

    id: str
    name: str
    organization: str | None = None
    description: str | None = None
    address: Address | None = None
    phones: list[Phone] = Field(default_factory=list)
    emails: list[str] = Field(default_factory=list)
    website: str | None = None
    schedules: list[ScheduleRow] = Field(default_factory=list)
    audience: str | None = None
    categories: list[str] = Field(default_factory=list)
    latitude: float | None = None
    longitude: float | None = None
    language: str | None = None
    municipality: str | None = None
    members: list[SourceRef] = Field(default_factory=list)
    field_lineage: dict[str, FieldLineage] = Field(default_factory=dict)


class Label(BaseModel):
    """One term of one taxonomy given to a service (a life domain, an audience, a sector,
    an access route, a cost), with the confidence and the evidence that decided it."""

    taxonomy: str
    term: str
    term_label: str
    confidence: float
    evidence: list[str] = Field(default_factory=list)


class ClassifiedService(DirectoryService):
    labels: list[Label] = Field(default_factory=list)

    def terms(self, taxonomy: str) -> list[str]:
        return [label.term for label in self.labels if label.taxonomy == taxonomy]
