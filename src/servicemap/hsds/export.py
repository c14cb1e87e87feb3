"""The current directory as Open Referral HSDS 3.0: nested service objects as the API's
`/services/{id}` gives them, and a tabular data package (one CSV per table)."""

from __future__ import annotations

import csv
import json
from datetime import date, datetime
from pathlib import Path
from types import UnionType
from typing import Union, get_args, get_origin

from pydantic import BaseModel
from sqlalchemy import Connection, Table, select
from sqlmodel import SQLModel

from servicemap.hsds.validator import hsds_rules
from servicemap.publish import tables as t
from servicemap.publish.documents import INTERNAL_COLUMNS, nest_services
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
        columns = [c for c in table.columns if c.name not in INTERNAL_COLUMNS]
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


def _csv_path(table: str) -> str:
    """The file name HSDS 3.0's datapackage.json gives a table ('services.csv'); our extension
    tables are named after themselves."""
    return hsds_rules()[table].path if table in hsds_rules() else f"{table}.csv"


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

    primary = [c.name for c in table.primary_key.columns if c.name not in INTERNAL_COLUMNS]
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
