"""Golden records to directory rows and back: the two directions a publish needs (writing
this run, and carrying the previous version's missing services forward as inactive)."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from itertools import islice

import orjson
from pydantic import Field
from sqlalchemy import Connection, select
from sqlmodel import SQLModel

from servicemap import records
from servicemap.publish import tables as t
from servicemap.publish.bulk import bulk_insert
from servicemap.publish.search_index import TAG_KINDS, SearchDocument, tag
from servicemap.publish.tables import stable_id

DOMAIN_TAXONOMY = "life_domain"
# Rows of one directory version per table, as `VersionRows` hands them out for writing.
RowBatch = dict[type[SQLModel], list[dict]]


# What a reader sees of a service; lineage and the record ids behind it change with every
# re-crawl without the service changing.
CONTENT_FIELDS = frozenset(records.ClassifiedService.model_fields) - {"id", "members", "field_lineage"}


class PublishedService(records.ClassifiedService):
    """A service as the directory holds it: the golden record plus its HSDS status and the
    dates a professional judges its freshness by."""

    status: str = "active"
    inactive_since: datetime | None = None
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    last_changed: datetime | None = None
    inactive_runs: int = 0
    organization_id: str | None = None
    location_id: str | None = None
    phone_ids: list[str] = Field(default_factory=list)


@dataclass(frozen=True)
class History:
    """A service's dates and status across publishes, carried from one version to the next."""

    first_seen: datetime
    last_changed: datetime
    status: str = "active"
    inactive_since: datetime | None = None
    inactive_runs: int = 0


def service_content(service: records.ClassifiedService) -> dict:
    """The fields a reader sees, in a form where equal means unchanged: labels by their terms
    (a confidence that moves is not a new service), in a fixed order."""
    # The labels are not dumped whole only to be replaced by their terms.
    content = service.model_dump(mode="json", include=CONTENT_FIELDS - {"labels"})
    content["labels"] = sorted([label.taxonomy, label.term] for label in service.labels)
    return content


# A digest of the current scheme: '2:' and the first 62 hex digits of the SHA-256 of the
# content as orjson writes it (eight times faster than json, a tenth of a publish's Python at
# 100,000 services). A stored digest without the prefix was made by json.dumps, and is compared
# by that scheme (`same_content`) until the service is published again.
DIGEST_PREFIX = "2:"


def content_hash(service: records.ClassifiedService) -> str:
    canonical = orjson.dumps(service_content(service), option=orjson.OPT_SORT_KEYS)
    return DIGEST_PREFIX + hashlib.sha256(canonical).hexdigest()[:62]


def _json_content_hash(service: records.ClassifiedService) -> str:
    canonical = json.dumps(service_content(service), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def same_content(stored: str, service: records.ClassifiedService, digest: str) -> bool:
    """Whether `service`, whose `content_hash` is `digest`, has the content a stored digest
    was made of, by whichever scheme made it."""
    if stored.startswith(DIGEST_PREFIX):
        return stored == digest
    return stored == _json_content_hash(service)


class VersionRows:
    """All rows of one directory version, with objects that several services share (an
    organisation, a location, a taxonomy term) written once."""

    def __init__(self, version_id: str):
        self.version_id = version_id
        self._rows: dict[type[SQLModel], dict[tuple, dict]] = defaultdict(dict)
        self._written: dict[type[SQLModel], int] = defaultdict(int)

    def _add(self, table: type[SQLModel], key: tuple, **values: object) -> None:
        # Two services with one id are both kept on purpose: the primary key then refuses the
        # publish instead of silently merging two services.
        rows = self._rows[table]
        if key in rows and table is t.Service:
            key = (*key, len(rows))
        rows.setdefault(key, {"directory_version_id": self.version_id, **values})

    def count(self, table: type[SQLModel], **where: object) -> int:
        return sum(all(r[k] == v for k, v in where.items()) for r in self._rows[table].values())

    def add_service(self, service: records.ClassifiedService, history: History, digest: str) -> None:
        org_id = None
        if service.organization:
            org_id = stable_id("organization", service.organization.strip().casefold())
            self._add(t.Organization, (org_id,), id=org_id, name=service.organization, description="")
        last_seen = max((m.fetched_at for m in service.members), default=None)
        self._add(
            t.Service,
            (service.id,),
            id=service.id,
            organization_id=org_id,
            name=service.name,
            description=service.description,
            url=service.website,
            email=service.emails[0] if service.emails else None,
            status=history.status,
            eligibility_description=service.audience,
            assured_date=last_seen.date().isoformat() if last_seen else None,
            last_modified=last_seen,
            inactive_since=history.inactive_since,
            first_seen=history.first_seen,
            last_seen=last_seen,
            last_changed=history.last_changed,
            inactive_runs=history.inactive_runs,
            content_hash=digest,
            municipality=service.municipality or (service.address.municipality if service.address else None),
            language=service.language,
            emails=service.emails,
            categories=service.categories,
            field_lineage={k: v.model_dump(mode="json") for k, v in service.field_lineage.items()},
        )
        self._add_location(service, org_id)
        for position, phone in enumerate(service.phones):
            phone_id = stable_id("phone", service.id, phone.number, phone.extension)
            self._add(
                t.Phone,
                (phone_id,),
                id=phone_id,
                service_id=service.id,
                number=phone.number,
                extension=phone.extension,
                type=phone.kind,
                description=phone.label,
                position=position,
            )
        for position, row in enumerate(service.schedules):
            schedule_id = stable_id(
                "schedule", service.id, position, row.weekday, row.opens_at, row.closes_at
            )
            self._add(
                t.Schedule,
                (schedule_id,),
                id=schedule_id,
                service_id=service.id,
                freq="WEEKLY" if row.weekday else None,
                byday=row.weekday,
                opens_at=row.opens_at,
                closes_at=row.closes_at,
                notes=row.note,
                position=position,
            )
        for label in service.labels:
            self._add_label(service.id, label)
        for member in service.members:
            self._add(
                t.SourceRecord,
                (service.id, member.record_id),
                service_id=service.id,
                record_id=member.record_id,
                source_id=member.source_id,
                url=member.url,
                fetched_at=member.fetched_at,
            )

    def _add_location(self, service: records.ClassifiedService, org_id: str | None) -> None:
        address = service.address
        if address is None and service.latitude is None:
            return
        one_line = address.one_line() if address else ""
        location_id = stable_id("location", org_id, one_line, service.latitude, service.longitude)
        self._add(
            t.Location,
            (location_id,),
            id=location_id,
            organization_id=org_id,
            name=service.organization or service.name,
            latitude=service.latitude,
            longitude=service.longitude,
        )
        link_id = stable_id("service_at_location", service.id, location_id)
        self._add(t.ServiceAtLocation, (link_id,), id=link_id, service_id=service.id, location_id=location_id)
        if address is not None:
            address_id = stable_id("address", location_id)
            street = " ".join(p for p in (address.street, address.house_number, address.addition) if p)
            self._add(
                t.Address,
                (address_id,),
                id=address_id,
                location_id=location_id,
                address_1=street,
                city=address.city or "",
                postal_code=address.postcode or "",
                street=address.street,
                house_number=address.house_number,
                addition=address.addition,
                municipality=address.municipality,
            )

    def _add_label(self, service_id: str, label: records.Label) -> None:
        taxonomy_id, term_id = _term_ids(label.taxonomy, label.term)
        if (term_id,) not in self._rows[t.TaxonomyTerm]:  # a few dozen terms label every service
            self._add(t.Taxonomy, (taxonomy_id,), id=taxonomy_id, name=label.taxonomy, description="")
            self._add(
                t.TaxonomyTerm,
                (term_id,),
                id=term_id,
                code=label.term,
                name=label.term_label,
                description=label.term_label,
                taxonomy_id=taxonomy_id,
                taxonomy=label.taxonomy,
            )
        attribute_id = stable_id("attribute", service_id, term_id)
        self._add(
            t.Attribute,
            (attribute_id,),
            id=attribute_id,
            link_id=service_id,
            link_type=label.taxonomy,
            link_entity="service",
            taxonomy_term_id=term_id,
            value=f"{label.confidence:.3f}",
            label=label.term_label,
        )
        if label.taxonomy == DOMAIN_TAXONOMY:
            self._add(
                t.ServiceDomain,
                (service_id, label.term),
                service_id=service_id,
                domain=label.term,
                confidence=label.confidence,
                evidence=label.evidence,
            )
        else:
            self._add(
                t.ServiceFacet,
                (service_id, label.taxonomy, label.term),
                service_id=service_id,
                taxonomy=label.taxonomy,
                term=label.term,
                confidence=label.confidence,
                evidence=label.evidence,
            )

    def add_rejections(self, rejected: list[records.Rejection]) -> None:
        for position, rejection in enumerate(rejected):
            self._add(t.RejectedRecord, (position,), position=position, **rejection.model_dump(mode="json"))

    def add_synonyms(self, synonyms: list[list[str]]) -> None:
        for position, group in enumerate(synonyms):
            self._add(t.SynonymGroup, (position,), position=position, words=group)

    def take_unwritten(self) -> RowBatch:
        """The rows added since the last call, per table: a batch can be written while more
        services are added, as a row once added never changes."""
        batch = {}
        for table in t.VERSIONED_TABLES:
            rows = self._rows[table]
            start = self._written[table]
            if len(rows) > start:
                batch[table] = list(islice(rows.values(), start, None))
                self._written[table] = len(rows)
        return batch


def write_rows(connection: Connection, batch: RowBatch) -> None:
    """Insert a batch of `VersionRows.take_unwritten`, table by table in the order of
    `VERSIONED_TABLES`. The service rows' INSERT is the statement that shows a publish at work."""
    for table, rows in batch.items():
        bulk_insert(connection, table.__table__, rows, watched=table is t.Service)


def search_document(service: records.ClassifiedService) -> SearchDocument:
    """What search matches of `service`: its texts and its domains' labels, and its tags."""
    domains = [label.term_label for label in service.labels if label.taxonomy == DOMAIN_TAXONOMY]
    return SearchDocument(
        service_id=service.id,
        name=service.name,
        organization=service.organization or "",
        domains=" ".join(domains),
        description=service.description or "",
        tags=_tags(service),
    )


def _tags(service: records.ClassifiedService) -> tuple[str, ...]:
    """What search filters a service on, as index words: its life domains, audience, sector
    and access terms, and municipality (its own, else its address's or city's, as the
    municipality filter reads them)."""
    found = []
    for label in service.labels:
        kind = "domain" if label.taxonomy == DOMAIN_TAXONOMY else label.taxonomy
        if kind in TAG_KINDS and kind != "municipality":
            found.append(tag(kind, label.term))
    address = service.address
    place = service.municipality or (address and (address.municipality or address.city))
    if place:
        found.append(tag("municipality", place))
    return tuple(dict.fromkeys(found))


@lru_cache(maxsize=4096)
def _term_ids(taxonomy: str, term: str) -> tuple[str, str]:
    """The ids of a taxonomy and its term: a few dozen terms label every service."""
    return stable_id("taxonomy", taxonomy), stable_id("taxonomy_term", taxonomy, term)


def load_services(
    connection: Connection, version_id: str, service_ids: list[str] | None = None
) -> list[PublishedService]:
    """The services of one version (all, or those in `service_ids`), read back into the
    golden-record shape they were published from."""

    def rows(table: type[SQLModel], key: str | None = None, values: Iterable[str] | None = None):
        columns = table.__table__.c
        query = select(table.__table__).where(columns.directory_version_id == version_id)
        if key is not None and values is not None:
            query = query.where(columns[key].in_(list(values)))
        return connection.execute(query).mappings().all()

    service_rows = rows(t.Service, "id", service_ids)
    only = None if service_ids is None else [s["id"] for s in service_rows]
    location_of = {r["service_id"]: r["location_id"] for r in rows(t.ServiceAtLocation, "service_id", only)}
    wanted_locations = None if only is None else set(location_of.values())
    wanted_organizations = None if only is None else {s["organization_id"] for s in service_rows} - {None}
    organizations = {r["id"]: r for r in rows(t.Organization, "id", wanted_organizations)}
    locations = {r["id"]: r for r in rows(t.Location, "id", wanted_locations)}
    addresses = {r["location_id"]: r for r in rows(t.Address, "location_id", wanted_locations)}
    terms = {(r["taxonomy"], r["code"]): r["name"] for r in rows(t.TaxonomyTerm)}
    by_service: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for r in sorted(rows(t.Phone, "service_id", only), key=lambda r: r["position"]):
        by_service[r["service_id"]]["phones"].append(r)
    for r in sorted(rows(t.Schedule, "service_id", only), key=lambda r: r["position"]):
        by_service[r["service_id"]]["schedules"].append(r)
    for r in rows(t.ServiceDomain, "service_id", only):
        by_service[r["service_id"]]["labels"].append(
            records.Label(
                taxonomy=DOMAIN_TAXONOMY,
                term=r["domain"],
                term_label=terms[(DOMAIN_TAXONOMY, r["domain"])],
                confidence=r["confidence"],
                evidence=r["evidence"],
            )
        )
    for r in rows(t.ServiceFacet, "service_id", only):
        by_service[r["service_id"]]["labels"].append(
            records.Label(
                taxonomy=r["taxonomy"],
                term=r["term"],
                term_label=terms[(r["taxonomy"], r["term"])],
                confidence=r["confidence"],
                evidence=r["evidence"],
            )
        )
    for r in sorted(rows(t.SourceRecord, "service_id", only), key=lambda r: r["record_id"]):
        by_service[r["service_id"]]["members"].append(
            records.SourceRef(
                record_id=r["record_id"], source_id=r["source_id"], url=r["url"], fetched_at=r["fetched_at"]
            )
        )

    services = []
    for s in sorted(service_rows, key=lambda r: r["name"]):
        parts = by_service[s["id"]]
        location_id = location_of.get(s["id"])
        location = locations.get(location_id)
        address = addresses.get(location_id)
        services.append(
            PublishedService(
                id=s["id"],
                name=s["name"],
                organization=organizations[s["organization_id"]]["name"] if s["organization_id"] else None,
                organization_id=s["organization_id"],
                location_id=location_id,
                description=s["description"],
                address=records.Address(
                    street=address["street"],
                    house_number=address["house_number"],
                    addition=address["addition"],
                    postcode=address["postal_code"] or None,
                    city=address["city"] or None,
                    municipality=address["municipality"],
                )
                if address
                else None,
                phones=[
                    records.Phone(
                        number=p["number"], kind=p["type"], label=p["description"], extension=p["extension"]
                    )
                    for p in parts["phones"]
                ],
                phone_ids=[p["id"] for p in parts["phones"]],
                emails=s["emails"],
                website=s["url"],
                schedules=[
                    records.ScheduleRow(
                        weekday=r["byday"], opens_at=r["opens_at"], closes_at=r["closes_at"], note=r["notes"]
                    )
                    for r in parts["schedules"]
                ],
                audience=s["eligibility_description"],
                categories=s["categories"],
                latitude=location["latitude"] if location else None,
                longitude=location["longitude"] if location else None,
                language=s["language"],
                municipality=s["municipality"],
                members=parts["members"],
                field_lineage=s["field_lineage"],
                labels=sorted(
                    parts["labels"], key=lambda label: (label.taxonomy, -label.confidence, label.term)
                ),
                status=s["status"],
                inactive_since=s["inactive_since"],
                first_seen=s["first_seen"],
                last_seen=s["last_seen"],
                last_changed=s["last_changed"],
                inactive_runs=s["inactive_runs"],
            )
        )
    return services
