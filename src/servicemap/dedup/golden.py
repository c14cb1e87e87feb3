"""Golden records: one published service per cluster, each field from the member that is best
placed to know it, with the record and URL it came from."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from servicemap.records import (
    Address,
    DirectoryService,
    FieldLineage,
    NormalizedRecord,
    Phone,
    ScheduleRow,
    SourceRef,
)

# Fields taken whole from one member.
SINGLE_FIELDS = (
    "name",
    "organization",
    "description",
    "address",
    "website",
    "schedules",
    "audience",
    "language",
    "municipality",
)


def completeness(value: Any) -> float:
    """How much a value says: address parts filled, schedule rows with hours, text length."""
    if isinstance(value, Address):
        return sum(1 for v in value.model_dump().values() if v)
    if isinstance(value, list):
        return sum(2 if isinstance(r, ScheduleRow) and r.weekday and r.opens_at else 1 for r in value)
    if isinstance(value, str):
        return len(value.strip())
    return 1.0


def _filled(value: Any) -> bool:
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, list):
        return bool(value)
    return value is not None


def survivor(
    members: list[NormalizedRecord], get: Callable[[NormalizedRecord], Any], trust: Callable[[str], float]
) -> NormalizedRecord | None:
    """The member whose value of one field is published: most trusted source first, then the
    most complete value, then the most recently fetched; record id breaks a full tie."""
    candidates = [m for m in members if _filled(get(m))]
    if len(candidates) <= 1:
        return candidates[0] if candidates else None
    return max(
        candidates, key=lambda m: (trust(m.source_id), completeness(get(m)), m.fetched_at, m.record_id)
    )


def _lineage(record: NormalizedRecord) -> FieldLineage:
    return FieldLineage(record_id=record.record_id, url=record.url, seen_at=record.fetched_at)


def golden_record(
    service_id: str, members: list[NormalizedRecord], trust: dict[str, float], default_trust: float
) -> DirectoryService:
    """Build one `DirectoryService` from the records of one cluster.

    Single-valued fields follow `survivor`; phones, emails and categories are the union of all
    members (one entry per number or address), in the order of the members' trust."""

    def trust_of(source_id: str) -> float:
        return trust.get(source_id, default_trust)

    values: dict[str, Any] = {}
    lineage: dict[str, FieldLineage] = {}
    for name in SINGLE_FIELDS:
        chosen = survivor(members, lambda m, name=name: getattr(m, name), trust_of)
        if chosen is not None:
            values[name] = getattr(chosen, name)
            lineage[name] = _lineage(chosen)
    if "municipality" not in values:
        # No source named the municipality (regional sources do not): the address's place is
        # the best word a professional filtering by municipality has for where the service is.
        placed = survivor(members, lambda m: m.address.city if m.address else None, trust_of)
        if placed is not None:
            values["municipality"] = placed.address.city
            lineage["municipality"] = _lineage(placed)
    located = survivor(
        members,
        lambda m: (m.latitude, m.longitude) if m.latitude is not None and m.longitude is not None else None,
        trust_of,
    )
    if located is not None:
        values["latitude"], values["longitude"] = located.latitude, located.longitude
        lineage["latitude"] = lineage["longitude"] = _lineage(located)

    ranked = sorted(members, key=lambda m: (trust_of(m.source_id), m.fetched_at, m.record_id), reverse=True)
    phones: dict[str, Phone] = {}
    emails: dict[str, str] = {}
    categories: dict[str, str] = {}
    for field, collected, items in (
        ("phones", phones, lambda m: [(p.number, p) for p in m.phones]),
        ("emails", emails, lambda m: [(e.lower(), e.lower()) for e in m.emails]),
        (
            "categories",
            categories,
            lambda m: [(c.strip().lower(), c.strip()) for c in m.categories if c.strip()],
        ),
    ):
        for member in ranked:
            for key, value in items(member):
                if key not in collected:
                    collected[key] = value
                    lineage.setdefault(field, _lineage(member))
    return DirectoryService(
        id=service_id,
        phones=list(phones.values()),
        emails=list(emails.values()),
        categories=list(categories.values()),
        members=[
            SourceRef(record_id=m.record_id, source_id=m.source_id, url=m.url, fetched_at=m.fetched_at)
            for m in sorted(members, key=lambda m: m.record_id)
        ],
        field_lineage=lineage,
        **values,
    )
