"""Reads of one directory version for the API: filtered service ids, HSDS service objects for
a page of them, organizations and taxonomies. Every read names its version, so one response
never mixes two publishes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime

from pydantic import BaseModel
from sqlalchemy import Connection, Table, select

from servicemap.hsds.export import nest_services
from servicemap.publish import tables as t
from servicemap.publish.rows import DOMAIN_TAXONOMY

# Query-parameter name -> the facet taxonomy it filters on.
FACET_FILTERS = {"audience": "audience", "sector": "sector", "access": "access"}


class UnknownFilterValue(ValueError):
    """A filter value that the published directory does not know, so it could only match nothing."""


class ServiceFilters(BaseModel):
    domain: str | None = None
    audience: str | None = None
    sector: str | None = None
    access: str | None = None
    municipality: str | None = None
    taxonomy_term_id: str | None = None
    organization_id: str | None = None
    modified_after: datetime | None = None

    def is_empty(self) -> bool:
        return all(v is None for v in self.model_dump().values())


def _table(model) -> Table:
    return model.__table__


def check_filters(connection: Connection, version: str, filters: ServiceFilters) -> None:
    """Refuse a term filter that names no term of the version: a typo should not look like 'no services'."""
    terms = _table(t.TaxonomyTerm)
    rows = connection.execute(
        select(terms.c.id, terms.c.code, terms.c.taxonomy).where(terms.c.directory_version_id == version)
    ).all()
    checks = [("domain", DOMAIN_TAXONOMY, filters.domain)] + [
        (name, taxonomy, getattr(filters, name)) for name, taxonomy in FACET_FILTERS.items()
    ]
    for name, taxonomy, value in checks:
        if value is None:
            continue
        known = sorted(r.code for r in rows if r.taxonomy == taxonomy)
        if value not in known:
            raise UnknownFilterValue(
                f"{name}={value!r} is not a term of the {taxonomy!r} taxonomy; expected one of {known}"
            )
    if filters.taxonomy_term_id is not None and filters.taxonomy_term_id not in {r.id for r in rows}:
        raise UnknownFilterValue(
            f"taxonomy_term_id={filters.taxonomy_term_id!r} is not a taxonomy term of this directory "
            "(see /taxonomy_terms)"
        )


def matching_service_ids(connection: Connection, version: str, filters: ServiceFilters) -> list[str]:
    """Active services of `version` that pass every filter, by name."""
    service = _table(t.Service)
    query = select(service.c.id).where(
        service.c.directory_version_id == version, service.c.status == "active"
    )
    if filters.domain is not None:
        domains = _table(t.ServiceDomain)
        query = query.where(
            service.c.id.in_(
                select(domains.c.service_id).where(
                    domains.c.directory_version_id == version, domains.c.domain == filters.domain
                )
            )
        )
    facets = _table(t.ServiceFacet)
    for name, taxonomy in FACET_FILTERS.items():
        value = getattr(filters, name)
        if value is not None:
            query = query.where(
                service.c.id.in_(
                    select(facets.c.service_id).where(
                        facets.c.directory_version_id == version,
                        facets.c.taxonomy == taxonomy,
                        facets.c.term == value,
                    )
                )
            )
    if filters.taxonomy_term_id is not None:
        attributes = _table(t.Attribute)
        query = query.where(
            service.c.id.in_(
                select(attributes.c.link_id).where(
                    attributes.c.directory_version_id == version,
                    attributes.c.taxonomy_term_id == filters.taxonomy_term_id,
                )
            )
        )
    if filters.municipality is not None:
        query = query.where(service.c.municipality.ilike(filters.municipality.strip()))
    if filters.organization_id is not None:
        query = query.where(service.c.organization_id == filters.organization_id)
    if filters.modified_after is not None:
        query = query.where(service.c.last_modified > filters.modified_after)
    return list(connection.execute(query.order_by(service.c.name, service.c.id)).scalars())


def service_objects(connection: Connection, version: str, service_ids: Sequence[str]) -> list[dict]:
    """HSDS service objects for `service_ids`, in that order, nested as the HSDS export nests them."""
    if not service_ids:
        return []
    ids = list(service_ids)

    def rows(model, column: str | None = None, values: Sequence[str] = ()) -> list[dict]:
        table = _table(model)
        query = select(table).where(table.c.directory_version_id == version)
        if column is not None:
            query = query.where(table.c[column].in_(values))
        order = [table.c.position] if "position" in table.c else []
        result = connection.execute(query.order_by(*order, *table.primary_key.columns)).mappings()
        return [{k: v for k, v in row.items() if k != "directory_version_id"} for row in result]

    tables = {
        "service": rows(t.Service, "id", ids),
        "phone": rows(t.Phone, "service_id", ids),
        "schedule": rows(t.Schedule, "service_id", ids),
        "service_at_location": rows(t.ServiceAtLocation, "service_id", ids),
        "attribute": rows(t.Attribute, "link_id", ids),
        "source_record": rows(t.SourceRecord, "service_id", ids),
    }
    term_ids = sorted({r["taxonomy_term_id"] for r in tables["attribute"]})
    tables["taxonomy_term"] = rows(t.TaxonomyTerm, "id", term_ids)
    tables["taxonomy"] = rows(t.Taxonomy, "id", sorted({r["taxonomy_id"] for r in tables["taxonomy_term"]}))
    location_ids = sorted({r["location_id"] for r in tables["service_at_location"]})
    tables["location"] = rows(t.Location, "id", location_ids)
    tables["address"] = rows(t.Address, "location_id", location_ids)
    organization_ids = sorted({r["organization_id"] for r in tables["service"] if r["organization_id"]})
    tables["organization"] = rows(t.Organization, "id", organization_ids)
    by_id = {s["id"]: s for s in nest_services(tables)}
    return [_as_exported(by_id[i]) for i in ids if i in by_id]


def _as_exported(value: dict) -> dict:
    """Moments written as the HSDS export writes them ('+00:00', not 'Z'), so both give one body."""
    return json.loads(json.dumps(value, default=_iso))


def _iso(value: object) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def organizations(connection: Connection, version: str, organization_id: str | None = None) -> list[dict]:
    """Organizations of `version` by name, each with the ids and names of its active services."""
    table = _table(t.Organization)
    query = select(table).where(table.c.directory_version_id == version)
    if organization_id is not None:
        query = query.where(table.c.id == organization_id)
    found = [
        {k: v for k, v in row.items() if k != "directory_version_id"}
        for row in connection.execute(query.order_by(table.c.name, table.c.id)).mappings()
    ]
    if not found:
        return []
    service = _table(t.Service)
    services: dict[str, list[dict]] = {}
    for row in connection.execute(
        select(service.c.id, service.c.name, service.c.organization_id)
        .where(
            service.c.directory_version_id == version,
            service.c.status == "active",
            service.c.organization_id.in_([o["id"] for o in found]),
        )
        .order_by(service.c.name, service.c.id)
    ):
        services.setdefault(row.organization_id, []).append({"id": row.id, "name": row.name})
    return [{**o, "services": services.get(o["id"], [])} for o in found]


def taxonomies(connection: Connection, version: str) -> list[dict]:
    table = _table(t.Taxonomy)
    query = select(table).where(table.c.directory_version_id == version).order_by(table.c.name, table.c.id)
    return [
        {k: v for k, v in r.items() if k != "directory_version_id"}
        for r in connection.execute(query).mappings()
    ]


def taxonomy_terms(connection: Connection, version: str, taxonomy_id: str | None = None) -> list[dict]:
    table = _table(t.TaxonomyTerm)
    query = select(table).where(table.c.directory_version_id == version)
    if taxonomy_id is not None:
        query = query.where(table.c.taxonomy_id == taxonomy_id)
    query = query.order_by(table.c.taxonomy, table.c.code, table.c.id)
    return [
        {k: v for k, v in r.items() if k != "directory_version_id"}
        for r in connection.execute(query).mappings()
    ]
