"""The classification taxonomies as data: life domains with their ZRM and Positive Health
mappings, the facets (audience, sector, access, cost), their lexicons and the search synonyms."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

LIFE_DOMAIN = "life_domain"

ZRM_DOMAINS = (
    "Financiën",
    "Werk & opleiding",
    "Tijdsbesteding",
    "Huisvesting",
    "Huiselijke relaties",
    "Geestelijke gezondheid",
    "Lichamelijke gezondheid",
    "Middelengebruik",
    "Basale ADL",
    "Instrumentele ADL",
    "Sociaal netwerk",
    "Maatschappelijke participatie",
    "Justitie",
)
POSITIVE_HEALTH = (
    "Lichaamsfuncties",
    "Mentaal welbevinden",
    "Zingeving",
    "Kwaliteit van leven",
    "Meedoen",
    "Dagelijks functioneren",
)


class TaxonomyError(ValueError):
    """A taxonomy file with one or more mistakes; the message lists every one."""

    def __init__(self, path: Path | str, problems: list[str]):
        self.problems = problems
        listing = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{path}: {len(problems)} problem(s):\n{listing}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Names(_Strict):
    nl: str = Field(min_length=1)
    en: str = Field(min_length=1)


class Lexicon(_Strict):
    """What implies a term: Dutch and English words or phrases, words that count only half
    (`weak`), and source categories (SC uniform product names, HSDS terms) matched whole.

    A word prefixed with '=' matches only as a whole word, never inside a compound."""

    nl: list[str] = Field(default_factory=list)
    en: list[str] = Field(default_factory=list)
    weak: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)

    def is_empty(self) -> bool:
        return not (self.nl or self.en or self.weak or self.categories)


class Term(_Strict):
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    label: Names
    zrm: list[str] | None = None
    positive_health: str | None = None
    threshold: float | None = Field(default=None, gt=0.0, le=1.0)
    lexicon: Lexicon


class TaxonomySpec(_Strict):
    """One taxonomy: `many` terms per service, exactly `one`, or `at_most_one` (the same as
    one here, as a label is only given on evidence; kept apart for readers of the data)."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    label: Names
    cardinality: Literal["many", "one", "at_most_one"]
    threshold: float = Field(gt=0.0, le=1.0)
    fields: list[Literal["name", "organization", "categories", "audience", "description"]] = Field(
        min_length=1
    )
    terms: list[Term] = Field(min_length=1)

    @property
    def single(self) -> bool:
        return self.cardinality != "many"

    def term(self, term_id: str) -> Term:
        for term in self.terms:
            if term.id == term_id:
                return term
        raise KeyError(f"taxonomy {self.id!r} has no term {term_id!r} (known: {[t.id for t in self.terms]})")

    def threshold_of(self, term: Term) -> float:
        return term.threshold if term.threshold is not None else self.threshold


class FieldWeights(_Strict):
    """How much one match counts by where it was found: a name says more than a description."""

    name: float = Field(gt=0.0, lt=1.0)
    organization: float = Field(gt=0.0, lt=1.0)
    category: float = Field(gt=0.0, lt=1.0)
    audience: float = Field(gt=0.0, lt=1.0)
    description: float = Field(gt=0.0, lt=1.0)


class Taxonomy(_Strict):
    field_weights: FieldWeights
    taxonomies: list[TaxonomySpec] = Field(min_length=1)
    synonyms: list[list[str]] = Field(default_factory=list)

    def get(self, taxonomy_id: str) -> TaxonomySpec:
        for spec in self.taxonomies:
            if spec.id == taxonomy_id:
                return spec
        raise KeyError(f"no taxonomy {taxonomy_id!r} (known: {[s.id for s in self.taxonomies]})")

    def terms(self, taxonomy_id: str) -> list[Term]:
        return list(self.get(taxonomy_id).terms)

    @property
    def life_domains(self) -> list[Term]:
        return self.terms(LIFE_DOMAIN)

    def synonyms_of(self, word: str) -> list[str]:
        """Every word of the synonym groups of `word`, itself included: search expands a query with them."""
        found = [w for group in self.synonyms if word.lower() in (g.lower() for g in group) for w in group]
        return list(dict.fromkeys(found)) or [word]


def default_taxonomy_path() -> Path:
    return Path(str(resources.files("servicemap.classify") / "taxonomy.yaml"))


def load_taxonomy(path: Path | str | None = None) -> Taxonomy:
    """Read and check a taxonomy file (default: the packaged one); raise `TaxonomyError`
    naming every bad taxonomy, term and field."""
    path = Path(path) if path is not None else default_taxonomy_path()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise TaxonomyError(path, [f"cannot read the file: {exc}"]) from None
    return parse_taxonomy(data, path)


def parse_taxonomy(data: object, path: Path | str = "taxonomy.yaml") -> Taxonomy:
    if not isinstance(data, dict):
        raise TaxonomyError(path, ["expected a mapping with 'field_weights', 'taxonomies' and 'synonyms'"])
    try:
        taxonomy = Taxonomy.model_validate(data)
    except ValidationError as exc:
        raise TaxonomyError(path, [_describe(error, data) for error in exc.errors()]) from None
    problems = _meaning_problems(taxonomy)
    if problems:
        raise TaxonomyError(path, problems)
    return taxonomy


def _meaning_problems(taxonomy: Taxonomy) -> list[str]:
    """What pydantic cannot see: duplicates, empty lexicons, unknown ZRM domains or dimensions."""
    problems = []
    seen_taxonomies: set[str] = set()
    for spec in taxonomy.taxonomies:
        if spec.id in seen_taxonomies:
            problems.append(f"duplicate taxonomy id {spec.id!r}")
        seen_taxonomies.add(spec.id)
        seen_terms: set[str] = set()
        for term in spec.terms:
            where = f"taxonomy {spec.id!r}: term {term.id!r}"
            if term.id in seen_terms:
                problems.append(f"taxonomy {spec.id!r}: duplicate term id {term.id!r}")
            seen_terms.add(term.id)
            if term.lexicon.is_empty():
                problems.append(f"{where}: lexicon: is empty (expected words or categories that imply it)")
            for value in term.zrm or []:
                if value not in ZRM_DOMAINS:
                    problems.append(
                        f"{where}: zrm: {value!r} is not a ZRM domain (one of {list(ZRM_DOMAINS)})"
                    )
            if term.positive_health is not None and term.positive_health not in POSITIVE_HEALTH:
                problems.append(
                    f"{where}: positive_health: {term.positive_health!r} is not a Positive Health "
                    f"dimension (one of {list(POSITIVE_HEALTH)})"
                )
            if spec.id == LIFE_DOMAIN:
                if term.zrm is None:
                    problems.append(f"{where}: zrm: missing (a list of ZRM domains, [] for none)")
                if term.positive_health is None:
                    problems.append(f"{where}: positive_health: missing (one of {list(POSITIVE_HEALTH)})")
    if LIFE_DOMAIN not in seen_taxonomies:
        problems.append(f"taxonomies: no {LIFE_DOMAIN!r} taxonomy")
    for index, group in enumerate(taxonomy.synonyms):
        if len(group) < 2:
            problems.append(f"synonyms[{index}]: {group!r} needs at least two words")
    return problems


def _describe(error: dict, data: dict) -> str:
    """From a pydantic error: "taxonomy 'life_domain': term 'finances': label.nl: Field required"."""
    loc = list(error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown field"
    where: list[str] = []
    node: object = data
    rest = loc
    if len(loc) >= 2 and loc[0] == "taxonomies" and isinstance(loc[1], int):
        node = _at(data.get("taxonomies"), loc[1])
        where.append(f"taxonomy {_name(node, loc[1])!r}")
        rest = loc[2:]
        if len(rest) >= 2 and rest[0] == "terms" and isinstance(rest[1], int):
            term = _at(node.get("terms") if isinstance(node, dict) else None, rest[1])
            where.append(f"term {_name(term, rest[1])!r}")
            rest = rest[2:]
    field = ".".join(str(p) for p in rest)
    if field or not where:
        where.append(field or "file")
    return ": ".join([*where, message])


def _at(items: object, index: int) -> object:
    return items[index] if isinstance(items, list) and index < len(items) else None


def _name(node: object, index: int) -> str:
    return node["id"] if isinstance(node, dict) and node.get("id") else f"#{index + 1}"
