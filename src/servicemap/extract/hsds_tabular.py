"""HSDS 1.x/2.0 tabular data packages (datapackage.json + CSV tables), which many directories
still publish, read into the same raw fields as the HSDS 3.x API."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from urllib.parse import urljoin

from servicemap.extract.base import ExtractionError, squash, squash_all
from servicemap.records import RawFields

TABLES = frozenset({
    "services", "organizations", "phones", "locations", "services_at_location", "service_at_location",
    "physical_addresses", "regular_schedules", "schedules", "languages", "service_taxonomy", "taxonomy",
    "taxonomy_terms", "eligibility",
})  # fmt: skip
_MAPPED_SERVICE_COLUMNS = frozenset({"id", "organization_id", "name", "description", "url", "email"})
OVERFLOW = "(cells beyond the header)"
_WEEKDAYS = {"1": "Mo", "2": "Tu", "3": "We", "4": "Th", "5": "Fr", "6": "Sa", "7": "Su",
             "monday": "Mo", "tuesday": "Tu", "wednesday": "We", "thursday": "Th", "friday": "Fr",
             "saturday": "Sa", "sunday": "Su", "mo": "Mo", "tu": "Tu", "we": "We", "th": "Th", "fr": "Fr",
             "sa": "Sa", "su": "Su"}  # fmt: skip


def package_tables(body: str, url: str) -> dict[str, str]:
    """The HSDS tables a datapackage.json lists: table name -> absolute URL of its CSV."""
    try:
        package = json.loads(body)
    except json.JSONDecodeError as exc:
        raise ExtractionError(url, f"not a datapackage.json ({exc})") from None
    resources = package.get("resources") if isinstance(package, dict) else None
    if not isinstance(resources, list):
        raise ExtractionError(url, "datapackage.json has no 'resources' list")
    tables = {}
    for resource in resources:
        if (
            isinstance(resource, dict)
            and resource.get("name") in TABLES
            and isinstance(resource.get("path"), str)
        ):
            tables[resource["name"]] = urljoin(url, resource["path"])
    if "services" not in tables:
        raise ExtractionError(url, "datapackage.json lists no 'services' table")
    return tables


def extract_tabular_services(tables: dict[str, str], url: str) -> list[RawFields]:
    """One RawFields per row of services.csv, joined with the other tables by their ids.
    Service columns with no raw field are kept in `extra` and named in extra['unmapped']."""
    if "services" not in tables:
        raise ExtractionError(url, "no services table in the package")
    rows = {name: _rows(text, url, name) for name, text in tables.items()}
    organizations = {r.get("id"): r for r in rows.get("organizations", [])}
    locations = {r.get("id"): r for r in rows.get("locations", [])}
    addresses = _group(rows.get("physical_addresses", []), "location_id")
    by_service = {
        name: _group(rows.get(name, []), "service_id")
        for name in (
            "phones",
            "regular_schedules",
            "schedules",
            "languages",
            "service_taxonomy",
            "eligibility",
        )
    }
    links = _group(rows.get("services_at_location", []) + rows.get("service_at_location", []), "service_id")
    terms = {r.get("id"): r for r in rows.get("taxonomy", []) + rows.get("taxonomy_terms", [])}
    services = []
    for number, service in enumerate(rows["services"], start=2):
        service_id = squash(service.get("id"))
        if not service_id or not squash(service.get("name")):
            raise ExtractionError(url, f"services.csv line {number} has no id or name")
        location_ids = [link.get("location_id") for link in links.get(service_id, [])]
        location = next((locations[i] for i in location_ids if i in locations), {})
        address = next(iter(addresses.get(location.get("id"), [])), {})
        unmapped = sorted(c for c, v in service.items() if c not in _MAPPED_SERVICE_COLUMNS and squash(v))
        extra = {f"services.{c}": squash(service[c]) for c in unmapped}
        if unmapped:
            extra["unmapped"] = ", ".join(unmapped)
        own = {name: table.get(service_id, []) for name, table in by_service.items()}
        services.append(
            RawFields(
                key=service_id,
                service_name=squash(service.get("name")),
                organization_name=squash(organizations.get(service.get("organization_id"), {}).get("name")),
                description=squash(service.get("description")),
                address_lines=squash_all([address.get(f"address_{n}") for n in (1, 2, 3, 4)]),
                postcode=squash(address.get("postal_code")),
                city=squash(address.get("city")),
                phones=_column(own["phones"], "number"),
                emails=squash_all([service.get("email")]),
                website=squash(service.get("url")),
                opening_hours=squash_all(
                    [_schedule_text(s) for s in own["regular_schedules"] + own["schedules"]]
                ),
                audience="; ".join(_column(own["eligibility"], "eligibility")) or None,
                categories=squash_all(
                    [
                        terms.get(t.get("taxonomy_id") or t.get("taxonomy_term_id"), {}).get("name")
                        for t in own["service_taxonomy"]
                    ]
                ),  # fmt: skip
                latitude=squash(location.get("latitude")),
                longitude=squash(location.get("longitude")),
                language=", ".join(_column(own["languages"], "language")) or None,
                extra=extra,
            )
        )
    return services


def _rows(text: str, url: str, table: str) -> list[dict[str, str]]:
    """The table's rows by column name; cells beyond the header are kept, joined, under OVERFLOW."""
    try:
        reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""), restkey=OVERFLOW)
        return [{k: ", ".join(v) if isinstance(v, list) else v for k, v in row.items()} for row in reader]
    except csv.Error as exc:
        raise ExtractionError(url, f"{table}.csv is not readable CSV ({exc})") from None


def _column(rows: list[dict[str, str]], column: str) -> list[str]:
    return squash_all([row.get(column) for row in rows])


def _group(rows: list[dict[str, str]], column: str) -> dict[str, list[dict[str, str]]]:
    grouped: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        grouped[row.get(column)].append(row)
    return grouped


def _schedule_text(row: dict[str, str]) -> str | None:
    """'Mo 09:00-17:00' from a 1.x weekday or a 2.0 byday, else the row's description."""
    days = squash(row.get("weekday") or row.get("byday"))
    opens, closes = squash(row.get("opens_at")), squash(row.get("closes_at"))
    if days and opens and closes:
        named = ",".join(_WEEKDAYS.get(d.strip().lower(), d.strip()) for d in days.split(","))
        return f"{named} {opens}-{closes}"
    return row.get("description")
