"""The current directory as Open Referral HSDS 3.0: nested service objects as the API's
`/services/{id}` gives them, and a tabular data package (one CSV per table)."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from datetime import date, datetime
from pathlib import Path
from types import UnionType
from typing import Union, get_args, get_origin

from pydantic import BaseModel
from sqlalchemy import Connection, Table, select
from sqlmodel import SQLModel

from servicemap.hsds.validator import hsds_rules
from servicemap.publish import tables as t
from servicemap.publish.versions import current_version, directory_engine

# The tables a downstream app reads; quarantine and search settings stay internal.
EXPORTED_TABLES: list[type[SQLModel]] = [
    t.Organization,
    t.Service,
    t.Location,
    t.ServiceAtLocation,
    t.Address,
    t.Phone,
    t.Schedule,
    t.Taxonomy,
    t.TaxonomyTerm,
    t.Attribute,
    t.ServiceDomain,
    t.ServiceFacet,
    t.SourceRecord,
]
_INTERNAL_COLUMNS = {"directory_version_id", "position"}


class ExportSummary(BaseModel):
    out_dir: Path
    version_id: str
    run_id: str
    services: int
    files: list[str]


def export_hsds(url: str, out_dir: Path | str) -> ExportSummary:
    """Write `services.json`, one CSV per table and `datapackage.json` for the current version."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    version = current_version(url)
    with directory_engine(url).connect() as connection:
        tables = {m.__tablename__: _rows(connection, m.__table__, version.id) for m in EXPORTED_TABLES}
    services = nest_services(tables)
    files = ["services.json"]
    (out_dir / "services.json").write_text(
        json.dumps(services, ensure_ascii=False, indent=2, default=_json_value), encoding="utf-8"
    )
    resources = []
    for model in EXPORTED_TABLES:
        table = model.__table__
        columns = [c for c in table.columns if c.name not in _INTERNAL_COLUMNS]
        path = _csv_path(table.name)
        with (out_dir / path).open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow([c.name for c in columns])
            for row in tables[table.name]:
                writer.writerow([_csv_value(row[c.name]) for c in columns])
        files.append(path)
        resources.append(_resource(model, columns, path))
    package = {
        "name": "servicemap-directory",
        "title": "Sociale kaart (HSDS 3.0)",
        "profile": "tabular-data-package",
        "version": version.id,
        "created": version.published_at.isoformat(),
        "resources": resources,
    }
    (out_dir / "datapackage.json").write_text(
        json.dumps(package, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    files.append("datapackage.json")
    return ExportSummary(
        out_dir=out_dir, version_id=version.id, run_id=version.run_id, services=len(services), files=files
    )


def _rows(connection: Connection, table: Table, version_id: str) -> list[dict]:
    query = select(table).where(table.c.directory_version_id == version_id)
    order = [table.c.position] if "position" in table.c else []
    rows = connection.execute(query.order_by(*order, *table.primary_key.columns)).mappings()
    return [{k: v for k, v in row.items() if k != "directory_version_id"} for row in rows]


def nest_services(tables: dict[str, list[dict]]) -> list[dict]:
    """Full HSDS service objects from the table rows of one version, by service name."""
    organizations = {r["id"]: _public(r) for r in tables["organization"]}
    terms = {r["id"]: _public(r) for r in tables["taxonomy_term"]}
    taxonomies = {r["id"]: _public(r) for r in tables["taxonomy"]}
    addresses = _group(tables["address"], "location_id")
    locations = {
        r["id"]: {**_public(r), "addresses": addresses.get(r["id"], []), "phones": [], "schedules": []}
        for r in tables["location"]
    }
    phones = _group(tables["phone"], "service_id")
    schedules = _group(tables["schedule"], "service_id")
    attributes = _group(tables["attribute"], "link_id")
    at_locations = _group(tables["service_at_location"], "service_id")
    lineage = _group(tables["source_record"], "service_id")
    services = []
    for service in sorted(tables["service"], key=lambda r: (r["name"], r["id"])):
        sid = service["id"]
        organization = organizations.get(service["organization_id"])
        services.append(
            {
                **_public(service),
                **({"organization": organization} if organization is not None else {}),
                "phones": phones.get(sid, []),
                "schedules": schedules.get(sid, []),
                "service_at_locations": [
                    {**link, "location": locations[link["location_id"]]} for link in at_locations.get(sid, [])
                ],
                "attributes": [
                    {
                        **a,
                        "taxonomy_term": {
                            **terms[a["taxonomy_term_id"]],
                            "taxonomy_detail": taxonomies[terms[a["taxonomy_term_id"]]["taxonomy_id"]],
                        },
                    }
                    for a in attributes.get(sid, [])
                ],
                # HSDS metadata: which crawled page last confirmed this service, and when.
                "metadata": [
                    {
                        "id": t.stable_id("metadata", sid, r["record_id"]),
                        "resource_id": sid,
                        "resource_type": "service",
                        "last_action_date": r["fetched_at"].date(),  # HSDS: a date, YYYY-MM-DD
                        "last_action_type": "crawled",
                        "field_name": "",
                        "previous_value": "",
                        "replacement_value": r["url"],
                        "updated_by": r["source_id"],
                    }
                    for r in lineage.get(sid, [])
                ],
            }
        )
    return services


def _csv_path(table: str) -> str:
    """The file name HSDS 3.0's datapackage.json gives a table ('services.csv'); our extension
    tables are named after themselves."""
    return hsds_rules()[table].path if table in hsds_rules() else f"{table}.csv"


def _group(rows: list[dict], key: str) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        grouped[row[key]].append(_public(row))
    return grouped


def _public(row: dict) -> dict:
    """A row as an HSDS object: HSDS types a field as a string or number, never null, so a
    value the directory does not know is left out rather than written as null."""
    return {k: v for k, v in row.items() if k not in _INTERNAL_COLUMNS and v is not None}


def _json_value(value: object) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _csv_value(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return value


def _resource(model: type[SQLModel], columns: list, path: str) -> dict:
    table = model.__table__

    def field_type(column) -> str:
        annotation = model.model_fields[column.name].annotation
        if get_origin(annotation) in (Union, UnionType):  # 'str | None': the type is what is not None
            annotation = next(a for a in get_args(annotation) if a is not type(None))
        kind = get_origin(annotation) or annotation
        types = {
            bool: "boolean",
            int: "integer",
            float: "number",
            datetime: "datetime",
            list: "array",
            dict: "object",
        }
        return types.get(kind, "string")

    primary = [c.name for c in table.primary_key.columns if c.name not in _INTERNAL_COLUMNS]
    return {
        "name": table.name,
        "path": path,
        "profile": "tabular-data-resource",
        "format": "csv",
        "encoding": "utf-8",
        "schema": {
            "fields": [
                {
                    "name": c.name,
                    "type": field_type(c),
                    **({"constraints": {"required": True}} if not c.nullable else {}),
                }
                for c in columns
            ],
            "primaryKey": primary,
        },
    }
