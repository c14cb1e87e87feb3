"""Our own check of HSDS 3.0 data, written from the official specification's rules
(`schema/hsds-3.0.yaml`): a downstream app must be able to trust that what we publish,
as JSON (`services.json`, `/services/{id}`) or as a tabular data package, is valid HSDS."""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from pathlib import Path

import yaml

RULES_PATH = Path(__file__).parent / "schema" / "hsds-3.0.yaml"

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# JSON Schema's "email" is RFC 5322's addr-spec; this is its everyday form: one '@', a dotted domain.
_EMAIL = re.compile(r"^[^@\s\"(),:;<>\[\]\\]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$")
# JSON Schema's "uri" is an absolute RFC 3986 URI: a scheme, a colon, and no spaces.
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s]+$")
# The spec: "HH:MM format and should include timezone information" (example '10:00:00').
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

_EXPECTED = {
    "string": "a string",
    "number": "a number",
    "uuid": "a UUID (RFC 4122, e.g. 'ac148810-d857-441c-9679-408f346de14b')",
    "email": "an email address (e.g. 'info@example.nl')",
    "uri": "an absolute URI (e.g. 'https://example.nl/hulp')",
    "date": "a date YYYY-MM-DD",
    "date-time": "an ISO 8601 date-time with time zone (e.g. '2023-03-15T10:30:45.123Z')",
    "time": "a time HH:MM[:SS] with optional zone (e.g. '09:00' or '09:00Z')",
}


@dataclass(frozen=True)
class Problem:
    """One way in which data breaks HSDS 3.0, at `path` (e.g. `service.phones[0].number`)."""

    path: str
    message: str
    expected: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message} (expected {self.expected})"


@dataclass(frozen=True)
class ObjectRules:
    name: str
    path: str
    required: list[str]
    tabular_required: list[str] = field(default_factory=list)
    unique: list[str] = field(default_factory=list)
    foreign_keys: dict[str, str] = field(default_factory=dict)
    fields: dict[str, str | list[str]] = field(default_factory=dict)


@cache
def hsds_rules() -> dict[str, ObjectRules]:
    """The HSDS 3.0 objects by name, from our rules file."""
    data = yaml.safe_load(RULES_PATH.read_text(encoding="utf-8"))
    return {name: ObjectRules(name=name, **rules) for name, rules in data["objects"].items()}


def _nested(kind: str | list[str]) -> tuple[str, bool] | None:
    """('phone', True) for '[phone]', ('organization', False) for 'organization', else None."""
    objects = hsds_rules()
    if isinstance(kind, list):
        if len(kind) == 1 and kind[0] in objects:
            return kind[0], True
        return None
    return (kind, False) if kind in objects else None


def validate_service(obj: object) -> list[Problem]:
    """Every way a nested HSDS service object (as `/services/{id}` returns it) breaks HSDS 3.0."""
    return validate_object("service", obj, "service")


def validate_object(kind: str, obj: object, path: str) -> list[Problem]:
    """Every way `obj` breaks the HSDS 3.0 rules of object `kind`, nested objects included."""
    rules = hsds_rules()[kind]
    if not isinstance(obj, dict):
        return [Problem(path, f"is {_describe(obj)}", f"a {kind} object")]
    problems = [
        Problem(f"{path}.{name}", f"{kind} lacks required field {name!r}", "a value")
        for name in rules.required
        if name not in obj
    ]
    for name, value in obj.items():
        spec = rules.fields.get(name)
        if spec is None:
            continue  # an extension: HSDS 3.0 allows fields it does not define
        problems.extend(_check_value(spec, value, f"{path}.{name}"))
    return problems


def _check_value(spec: str | list[str], value: object, path: str) -> list[Problem]:
    nested = _nested(spec)
    if nested is not None:
        kind, many = nested
        if not many:
            return validate_object(kind, value, path)
        if not isinstance(value, list):
            return [Problem(path, f"is {_describe(value)}", f"a list of {kind} objects")]
        return [p for i, item in enumerate(value) for p in validate_object(kind, item, f"{path}[{i}]")]
    if isinstance(spec, list):
        if value not in spec:
            shown = "null" if value is None else repr(value)
            return [Problem(path, f"{shown} is not an allowed value", f"one of {', '.join(map(repr, spec))}")]
        return []
    if spec == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return [Problem(path, f"is {_describe(value)}", _EXPECTED["number"])]
        return []
    if not isinstance(value, str):
        return [Problem(path, f"is {_describe(value)}", _EXPECTED[spec])]
    if not _is_format(spec, value):
        return [Problem(path, f"{value!r} is not of format {spec!r}", _EXPECTED[spec])]
    return []


def _is_format(kind: str, value: str) -> bool:
    if kind == "uuid":
        return bool(_UUID.match(value))
    if kind == "email":
        return bool(_EMAIL.match(value))
    if kind == "uri":
        return bool(_URI.match(value))
    if kind == "time":
        return bool(_TIME.match(value))
    if kind == "date":
        return bool(_DATE.match(value)) and _parses(date.fromisoformat, value)
    if kind == "date-time":
        return "T" in value and _parses(_aware_datetime, value)
    return True


def _aware_datetime(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError("no time zone")
    return moment


def _parses(parse, value: str) -> bool:
    try:
        parse(value)
    except ValueError:
        return False
    return True


def _describe(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"


# --- The data package ---


def validate_export(out_dir: Path | str) -> list[Problem]:
    """Every way an export directory (`services.json` + the CSV data package) breaks HSDS 3.0."""
    out_dir = Path(out_dir)
    return _validate_services_file(out_dir / "services.json") + _validate_package(out_dir)


def _validate_services_file(path: Path) -> list[Problem]:
    loaded = _load_json(path)
    if isinstance(loaded, Problem):
        return [loaded]
    if not isinstance(loaded, list):
        return [Problem(path.name, f"is {_describe(loaded)}", "a list of service objects")]
    return [p for i, item in enumerate(loaded) for p in validate_object("service", item, f"{path.name}[{i}]")]


def _load_json(path: Path) -> object:
    if not path.is_file():
        return Problem(path.name, "is missing", f"the file {path.name}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        return Problem(path.name, f"is not JSON ({error})", "UTF-8 JSON")


def _validate_package(out_dir: Path) -> list[Problem]:
    package = _load_json(out_dir / "datapackage.json")
    if isinstance(package, Problem):
        return [package]
    if not isinstance(package, dict) or not isinstance(package.get("resources"), list):
        return [Problem("datapackage.json", "has no 'resources' list", "a tabular data package descriptor")]
    problems = []
    if package.get("profile") != "tabular-data-package":
        problems.append(
            Problem("datapackage.json.profile", f"is {package.get('profile')!r}", "'tabular-data-package'")
        )
    rules = hsds_rules()
    tables: dict[str, _Table] = {}
    for i, resource in enumerate(package["resources"]):
        name = resource.get("name") if isinstance(resource, dict) else None
        where = f"datapackage.json.resources[{i}]"
        if not isinstance(name, str) or not isinstance(resource.get("path"), str):
            problems.append(Problem(where, "lacks a name or path", "a resource with 'name' and 'path'"))
            continue
        if name in rules and resource["path"] != rules[name].path:
            problems.append(
                Problem(f"{where}.path", f"{name} is at {resource['path']!r}", f"{rules[name].path!r}")
            )
        table = _read_csv(out_dir, resource["path"], problems)
        if table is not None:
            tables[name] = table
    for name, table in tables.items():
        if name in rules:
            problems.extend(_validate_table(rules[name], table, tables))
    return problems


@dataclass(frozen=True)
class _Table:
    header: list[str]
    rows: list[dict[str, str]]


def _read_csv(out_dir: Path, path: str, problems: list[Problem]) -> _Table | None:
    file = out_dir / path
    if not file.is_file():
        problems.append(Problem(path, "is missing", "the CSV file the data package names"))
        return None
    with file.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
        return _Table(header=list(reader.fieldnames or []), rows=rows)


def _validate_table(rules: ObjectRules, table: _Table, tables: dict[str, _Table]) -> list[Problem]:
    problems: list[Problem] = []
    header, rows = set(table.header), table.rows
    for column in rules.required + rules.tabular_required:
        if column not in header:
            problems.append(
                Problem(f"{rules.path}", f"lacks required column {column!r}", f"a {column} column")
            )
    # An empty cell is our CSV's form of both '' and null; the JSON form (canonical since 3.0)
    # accepts '' for a required text, so only ids and the links between tables must be filled.
    must_fill = ["id", *rules.tabular_required]
    for n, row in enumerate(rows, start=2):  # line 1 is the header
        for column, value in row.items():
            where = f"{rules.path}:{n}.{column}"
            if value in ("", None):
                if column in must_fill and column in header:
                    problems.append(
                        Problem(where, "is empty", _EXPECTED.get(rules.fields[column], "a value"))
                    )
                continue
            spec = rules.fields.get(column)
            if spec is None or _nested(spec) is not None:
                continue
            problems.extend(_check_cell(spec, value, where))
    for column in rules.unique:
        seen: dict[str, int] = {}
        for n, row in enumerate(rows, start=2):
            value = row.get(column)
            if value in ("", None):
                continue
            if value in seen:
                problems.append(
                    Problem(
                        f"{rules.path}:{n}.{column}",
                        f"{value!r} repeats line {seen[value]}",
                        "a unique value",
                    )
                )
            seen.setdefault(value, n)
    problems.extend(_foreign_key_problems(rules, rows, tables))
    return problems


def _check_cell(spec: str | list[str], value: str, where: str) -> list[Problem]:
    if spec == "number":
        try:
            float(value)
        except ValueError:
            return [Problem(where, f"{value!r} is not a number", _EXPECTED["number"])]
        return []
    return _check_value(spec, value, where)


def _foreign_key_problems(rules: ObjectRules, rows: list[dict], tables: dict[str, _Table]) -> list[Problem]:
    """Ids that name a row elsewhere must find it; an attribute's `link_id` names a row of the
    table its `link_entity` says (e.g. 'service')."""
    problems = []
    ids = {name: {r.get("id") for r in table.rows} for name, table in tables.items()}
    links = dict(rules.foreign_keys)
    for n, row in enumerate(rows, start=2):
        targets = dict(links)
        if rules.name == "attribute" and row.get("link_entity"):
            targets["link_id"] = row["link_entity"]
        for column, target in targets.items():
            value = row.get(column)
            if value in ("", None):
                continue
            where = f"{rules.path}:{n}.{column}"
            if target not in ids:
                problems.append(
                    Problem(where, f"refers to {target} {value!r}", f"a {target} table in the package")
                )
            elif value not in ids[target]:
                problems.append(Problem(where, f"{value!r} is no {target} id", f"the id of a {target} row"))
    return problems
