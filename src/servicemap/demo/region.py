"""The region model: the organisations and services of the demo region, written as YAML part
files, from which the demo websites and the ground truth are generated."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

REGION_DIR = Path(__file__).parent / "region"

SOURCE_IDS = (
    "gemeente-brederwijk",
    "gemeente-brederwijk-sc",
    "gemeente-lindeveen-sc",
    "gemeente-aldermeer-sc",
    "welzijn-de-linde",
    "palliatief-netwerk",
    "sociale-kaart",
    "ggd-lindewaard",
    "geldzorg-lindewaard",
    "vrijwilligerspunt-aldermeer",
)
DOMAINS = (
    "finances",
    "work_and_daytime",
    "housing",
    "family_and_caregiving",
    "mental_wellbeing",
    "physical_health",
    "substance_use",
    "daily_living",
    "social_participation",
    "meaning_of_life",
    "legal_and_safety",
)
AUDIENCES = (
    "ouders_eerste_1000_dagen",
    "jeugd",
    "volwassenen",
    "ouderen",
    "mantelzorgers",
    "palliatief",
    "beperking",
    "nieuwkomers",
)
SECTORS = ("zorg", "sociaal_domein", "publieke_gezondheid", "vrijwillig_informeel")
ACCESS_ROUTES = ("vrij_toegankelijk", "via_aanmelding", "via_verwijzing", "via_indicatie")
COSTS = ("gratis", "eigen_bijdrage")
MUNICIPALITIES = ("Brederwijk", "Lindeveen", "Aldermeer")

OrganizationKind = Literal[
    "gemeente",
    "welzijn",
    "zorg",
    "ggd",
    "schuldhulp",
    "palliatief",
    "vrijwilligers",
    "bibliotheek",
    "ggz",
    "overig",
]


class RegionError(ValueError):
    """The region model has one or more mistakes; the message lists every one."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        listing = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"the region model has {len(problems)} problem(s):\n{listing}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Organization(_Strict):
    id: str
    name: str
    aliases: list[str] = Field(default_factory=list)
    kind: OrganizationKind
    email_domain: str | None = None


class PlaceAddress(_Strict):
    street: str
    house_number: str
    addition: str | None = None
    postcode: str
    city: str


class Truth(_Strict):
    """The correct labels of a service, against which the classifier is measured."""

    domains: list[str] = Field(min_length=1)
    audiences: list[str] = Field(default_factory=list)
    sector: str
    access: str
    cost: str | None = None


class Service(_Strict):
    id: str
    organization: str
    name: str
    variants: list[str] = Field(default_factory=list)
    municipality: str
    address: PlaceAddress | None = None
    phone: str | None = None
    phone_label: str | None = None
    email: str | None = None
    opening_hours: str | None = None
    descriptions: list[str] = Field(min_length=2, max_length=2)
    audience: str | None = None
    categories: list[str] = Field(default_factory=list)
    truth: Truth
    listed_on: list[str] = Field(min_length=1)


class Region(_Strict):
    organizations: list[Organization]
    services: list[Service]

    def organization(self, organization_id: str) -> Organization:
        for organization in self.organizations:
            if organization.id == organization_id:
                return organization
        raise KeyError(f"no organisation {organization_id!r} in the region model")

    def services_on(self, source_id: str) -> list[Service]:
        """The services a site describes, in id order so that every build is the same."""
        return sorted((s for s in self.services if source_id in s.listed_on), key=lambda s: s.id)


def load_region(paths: list[Path] | None = None) -> Region:
    """Merge the part files (all of `region/*.yaml` by default) and check every reference;
    raise `RegionError` listing each problem."""
    paths = sorted(REGION_DIR.glob("*.yaml")) if paths is None else [Path(p) for p in paths]
    if not paths:
        raise RegionError([f"no part files found in {REGION_DIR}"])
    problems: list[str] = []
    organizations: list[Organization] = []
    services: list[Service] = []
    for path in paths:
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            problems.append(f"{path.name}: cannot read the file: {exc}")
            continue
        if not isinstance(data, dict):
            problems.append(f"{path.name}: expected a mapping with 'organizations' and 'services'")
            continue
        organizations += _parse(
            path, "organizations", data.get("organizations") or [], Organization, problems
        )
        services += _parse(path, "services", data.get("services") or [], Service, problems)
    problems += _check_references(organizations, services)
    if problems:
        raise RegionError(problems)
    return Region(organizations=organizations, services=services)


def _parse(path: Path, section: str, entries: list, model: type, problems: list[str]) -> list:
    parsed = []
    for index, entry in enumerate(entries):
        name = entry.get("id") if isinstance(entry, dict) and entry.get("id") else f"#{index + 1}"
        try:
            parsed.append(model.model_validate(entry))
        except ValidationError as exc:
            for error in exc.errors():
                field = ".".join(str(p) for p in error["loc"]) or "entry"
                message = "unknown field" if error["type"] == "extra_forbidden" else error["msg"]
                problems.append(f"{path.name}: {section} {name!r}: {field}: {message}")
    return parsed


def _check_references(organizations: list[Organization], services: list[Service]) -> list[str]:
    problems: list[str] = []
    organization_ids: set[str] = set()
    for organization in organizations:
        if organization.id in organization_ids:
            problems.append(f"duplicate organisation id {organization.id!r}")
        organization_ids.add(organization.id)
    service_ids: set[str] = set()
    for service in services:
        where = f"service {service.id!r}"
        if service.id in service_ids:
            problems.append(f"duplicate service id {service.id!r}")
        service_ids.add(service.id)
        if service.organization not in organization_ids:
            problems.append(f"{where}: organization {service.organization!r} is not an organisation id")
        if service.municipality not in MUNICIPALITIES:
            problems.append(f"{where}: municipality {service.municipality!r} is not one of {MUNICIPALITIES}")
        for source_id in service.listed_on:
            if source_id not in SOURCE_IDS:
                problems.append(f"{where}: listed_on {source_id!r} is not a source id (one of {SOURCE_IDS})")
        if len(set(service.listed_on)) != len(service.listed_on):
            problems.append(f"{where}: listed_on {service.listed_on} names a site twice")
        truth = service.truth
        checks = [("domains", d, DOMAINS) for d in truth.domains]
        checks += [("audiences", a, AUDIENCES) for a in truth.audiences]
        checks += [("sector", truth.sector, SECTORS), ("access", truth.access, ACCESS_ROUTES)]
        if truth.cost is not None:
            checks.append(("cost", truth.cost, COSTS))
        for field, value, allowed in checks:
            if value not in allowed:
                problems.append(f"{where}: truth.{field}: {value!r} is not a label id (one of {allowed})")
    return problems
