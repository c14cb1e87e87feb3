"""Pair scoring: how much two records look like one service, with the evidence that says so."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, replace
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Literal, NamedTuple
from urllib.parse import urlsplit

import numpy as np
import snowballstemmer
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from rapidfuzz import fuzz, process
from scipy import sparse

from servicemap.dedup.bulk import (
    codes,
    containments,
    pair_cosines,
    pair_products,
    value_matrix,
    weighted_words,
)
from servicemap.records import NormalizedRecord

FeatureName = Literal["name", "upl", "phone", "email", "website", "address", "description"]
FEATURES: tuple[FeatureName, ...] = ("name", "upl", "phone", "email", "website", "address", "description")
BlockingRule = Literal["phone", "email", "website", "address", "upl", "name_key", "name_token"]
Decision = Literal["match", "uncertain", "non_match"]
DEFAULT_SETTINGS_PATH = Path(__file__).with_name("dedup.yaml")

_WORD = re.compile(r"[^\W_]+")
_STEMMER = snowballstemmer.stemmer("dutch")


class DedupSettingsError(ValueError):
    """`dedup.yaml` has one or more mistakes; the message lists every one."""

    def __init__(self, path: Path | str, problems: list[str]):
        self.problems = problems
        listing = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{path}: {len(problems)} problem(s):\n{listing}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, ignored_types=(cached_property,))


class FeatureWeight(_Strict):
    """Points a pair gains when a feature agrees and loses when it disagrees."""

    agree: float = Field(ge=0.0)
    disagree: float = Field(ge=0.0)


class Thresholds(_Strict):
    match: float
    uncertain: float
    name_agrees: float = Field(ge=0.0, le=1.0)
    name_agrees_with_contact: float = Field(ge=0.0, le=1.0)
    name_same: float = Field(ge=0.0, le=1.0)
    closest_resemblance: float = Field(ge=0.0, le=2.0)
    closest_margin: float = Field(ge=0.0, le=2.0)
    closest_resemblance_shared: float = Field(default=1.0, ge=0.0, le=2.0)
    corroborates: float = Field(ge=0.0, le=1.0)
    name_with_same_page: float = Field(default=0.2, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if self.uncertain > self.match:
            raise ValueError(f"uncertain ({self.uncertain}) must not be above match ({self.match})")
        if self.name_agrees_with_contact > self.name_agrees:
            raise ValueError(
                f"name_agrees_with_contact ({self.name_agrees_with_contact}) must not be above "
                f"name_agrees ({self.name_agrees})"
            )
        return self


class BlockingSettings(_Strict):
    rules: list[BlockingRule] = Field(min_length=1)
    max_block_size: int = Field(ge=2)
    window: int = Field(ge=2)
    min_token_length: int = Field(ge=1)


class DedupSettings(_Strict):
    """Everything that decides a match, as data: `dedup.yaml`."""

    features: dict[FeatureName, FeatureWeight]
    thresholds: Thresholds
    corroborating_features: list[FeatureName] = Field(min_length=1)
    blocking: BlockingSettings
    organization_words: frozenset[str]
    stop_words: frozenset[str]
    default_trust: float = Field(ge=0.0, le=1.0)
    shared_contact: float = Field(ge=0.0, le=1.0)
    synonyms: list[list[str]] = Field(default_factory=list)
    audiences: list[list[str]] = Field(default_factory=list)

    @cached_property
    def audience_of(self) -> dict[str, str]:
        """Each audience word and the first word of its group: 'senioren' is 'ouderen'."""
        return {word: group[0] for group in self.audiences for word in group}

    @field_validator("audiences")
    @classmethod
    def _audience_words(cls, groups: list[list[str]]) -> list[list[str]]:
        phrases = [word for group in groups for word in group if len(word.split()) != 1]
        if phrases:
            raise ValueError(f"{phrases} are not single words (expected e.g. [ouderen, senioren])")
        return [[word.strip().lower() for word in group] for group in groups if group]

    @field_validator("synonyms")
    @classmethod
    def _groups_of_two_or_more(cls, groups: list[list[str]]) -> list[list[str]]:
        short = [group for group in groups if len(group) < 2]
        if short:
            raise ValueError(
                f"groups {short} name fewer than two phrases (expected a phrase and its synonyms)"
            )
        return [[phrase.strip().lower() for phrase in group] for group in groups]

    @cached_property
    def synonym_pattern(self) -> tuple[re.Pattern[str], dict[str, str]] | None:
        """One regular expression over every synonym, longest first, and the phrase each stands for."""
        canonical = {phrase: group[0] for group in self.synonyms for phrase in group[1:]}
        if not canonical:
            return None
        alternatives = "|".join(re.escape(p) for p in sorted(canonical, key=len, reverse=True))
        return re.compile(rf"(?<![^\W_])(?:{alternatives})(?![^\W_])"), canonical

    @field_validator("features")
    @classmethod
    def _every_feature_weighted(cls, features: dict[FeatureName, FeatureWeight]) -> dict:
        missing = [f for f in FEATURES if f not in features]
        if missing:
            raise ValueError(f"no weights for {missing} (expected all of {list(FEATURES)})")
        return features

    @field_validator("corroborating_features")
    @classmethod
    def _name_does_not_corroborate(cls, features: list[FeatureName]) -> list[FeatureName]:
        if "name" in features:
            raise ValueError("'name' cannot corroborate itself")
        return features


def load_dedup_settings(path: Path | None = None) -> DedupSettings:
    """Read and check `dedup.yaml` (the packaged one by default); raise `DedupSettingsError`
    naming every bad field."""
    path = path or DEFAULT_SETTINGS_PATH
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise DedupSettingsError(path, [f"cannot read the file: {exc}"]) from None
    if not isinstance(data, dict):
        raise DedupSettingsError(path, ["expected a mapping with 'features', 'thresholds' and 'blocking'"])
    try:
        return DedupSettings.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"]) or "file"
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                message = "unknown field"
            elif error["type"] == "literal_error":
                message = f"{error.get('input')!r} is not one of {error['ctx']['expected']}"
            problems.append(f"{where}: {message}")
        raise DedupSettingsError(path, problems) from None


@dataclass(frozen=True)
class RecordFeatures:
    """One record reduced to the values pairs are compared on, computed once per record."""

    record: NormalizedRecord
    name_text: str
    name_stems: tuple[str, ...]
    # The UPL in the words of a name ('hulp huishoud'), so that a municipality's product matches
    # a listing that calls it by its uniform name.
    upl_text: str | None
    organization_stems: frozenset[str]
    phones: frozenset[str]
    emails: frozenset[str]
    website: str | None
    host: str | None
    # The page the record was found on, in the form of `website`: an SC entry links to it.
    page: str | None
    address_key: str | None
    postcode: str | None
    description: str | None
    # The description's word stems without function words, for the TF-IDF comparison.
    description_stems: tuple[str, ...]
    upl: str | None
    municipality: str | None
    # 'phone:…', 'email:…', 'address:…' values one source gives to several of its records.
    shared: frozenset[str] = frozenset()
    # The audiences the name is for ('ouderen', 'jongeren'), from `audiences` in dedup.yaml.
    audiences: frozenset[str] = frozenset()


def _words(text: str | None) -> list[str]:
    """The words of a text, lower case and without accents: sources write 'Taalcafé' and
    'Taalcafe', 'coöperatie' and 'cooperatie' for one word."""
    if not text:
        return []
    if not text.isascii():
        text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return _WORD.findall(text.lower())


def place_words(record: NormalizedRecord) -> set[str]:
    """The words of the record's own municipality, city and street: 'Schuldhulp Brederwijk' is
    'Schuldhulp' to a reader in Brederwijk, 'Consultatiebureau Vlinderhof' is the one at Vlinderhof."""
    address = record.address
    places = [
        record.municipality,
        address.city if address else None,
        address.municipality if address else None,
        address.street if address else None,
    ]
    return {word for place in places for word in _words(place)}


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    return _STEMMER.stemWord(word)


def with_synonyms(text: str | None, settings: DedupSettings) -> str | None:
    """The text with each synonym replaced by the first phrase of its group in `dedup.yaml`:
    'Huishoudelijke hulp' reads as 'hulp bij het huishouden'."""
    if not text or settings.synonym_pattern is None:
        return text
    pattern, canonical = settings.synonym_pattern
    return pattern.sub(lambda m: canonical[m.group(0)], text.lower())


def name_stems(text: str | None, dropped: set[str] | frozenset[str]) -> tuple[str, ...]:
    """Stems of the words that tell one service or organisation from another."""
    return tuple(_stem(w) for w in _words(text) if w not in dropped)


def without_provider(name: str, organisation: frozenset[str], dropped: frozenset[str]) -> str:
    """The name without a leading 'provider: ' that names the record's own organisation: a
    directory writes 'Welzijn De Linde: Taalcafé' where the provider's site writes 'Taalcafé'.

    >>> without_provider("Welzijn De Linde: Taalcafé", frozenset({"welzijn", "lind"}), frozenset({"de"}))
    'Taalcafé'
    """
    head, colon, rest = name.partition(":")
    if not colon or not rest.strip() or not organisation:
        return name
    head_stems = name_stems(head, dropped)
    return rest.strip() if head_stems and set(head_stems) <= organisation else name


def page_key(url: str | None) -> tuple[str | None, str | None]:
    """(host+path+query, host) of a URL: the form pages and websites are compared in."""
    if not url:
        return None, None
    parts = urlsplit(url)
    host = (parts.hostname or "").removeprefix("www.") or None
    if host is None:
        return None, None
    host += f":{parts.port}" if parts.port else ""
    return f"{host}{parts.path.rstrip('/')}{'?' + parts.query if parts.query else ''}", host


def prepare(record: NormalizedRecord, settings: DedupSettings) -> RecordFeatures:
    """Compute the comparison values of one record."""
    dropped = settings.organization_words | settings.stop_words | place_words(record)
    organisation = frozenset(name_stems(record.organization, dropped))
    name = with_synonyms(without_provider(record.name, organisation, dropped), settings)
    stems = name_stems(name, dropped) or name_stems(name, settings.stop_words)
    website, host = page_key(record.website)
    page, _ = page_key(record.url)
    address = record.address
    address_key = postcode = None
    if address is not None:
        postcode = address.postcode
        # The building, not the unit: sources write 'Kerkstraat 14' and 'Kerkstraat 14 A' for one
        # entrance as often as not, and two services in one building are told apart by the rest.
        if address.postcode and address.house_number:
            address_key = f"{address.postcode}|{address.house_number}".lower()
        elif address.street and address.house_number and address.city:
            address_key = f"{address.street}|{address.house_number}|{address.city}".lower()
    municipality = record.municipality or (address.municipality if address else None)
    upl = record.extra.get("upl")
    upl = upl.strip().lower() if upl and upl.strip() else None
    upl_stems = name_stems(with_synonyms(upl, settings), settings.stop_words) if upl else ()
    return RecordFeatures(
        record=record,
        name_text=" ".join(stems) or record.name.lower(),
        name_stems=stems,
        upl_text=" ".join(upl_stems) or None,
        organization_stems=organisation,
        phones=frozenset(p.number for p in record.phones),
        emails=frozenset(e.lower() for e in record.emails),
        website=website,
        host=host,
        page=page,
        address_key=address_key,
        postcode=postcode,
        description=record.description.lower() if record.description else None,
        description_stems=name_stems(record.description, settings.stop_words | settings.organization_words),
        upl=upl,
        municipality=municipality.strip().lower() if municipality else None,
        audiences=frozenset(
            settings.audience_of[word] for word in _words(name) if word in settings.audience_of
        ),
    )


class FeatureScore(NamedTuple):
    """One compared feature: how similar (0..1), the points it gave, and what was compared.

    A tuple, not a model: a run at 100,000 records keeps about a million of them, and a model
    costs several times the memory."""

    feature: FeatureName
    similarity: float
    points: float
    detail: str


class PairExplanation(BaseModel):
    """Why two records are, or are not, one service: a reviewer reads this, not the code."""

    a: str
    b: str
    score: float
    decision: Decision
    features: list[FeatureScore] = Field(default_factory=list)
    conflicts: list[str] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)

    def agreeing(self, at_least: float = 0.8) -> list[str]:
        return [f.feature for f in self.features if f.similarity >= at_least]

    def summary(self) -> str:
        """'a ~ b: match 9.5 (name 1.00 +4.0, phone 1.00 +3.0)' for logs and metadata tables."""
        parts = ", ".join(f"{f.feature} {f.similarity:.2f} {f.points:+.1f}" for f in self.features)
        tail = "; ".join(self.conflicts + self.reasons)
        return (
            f"{self.a} ~ {self.b}: {self.decision} {self.score:.1f} ({parts}){' — ' + tail if tail else ''}"
        )


def hard_conflicts(a: RecordFeatures, b: RecordFeatures) -> list[str]:
    """Facts that make two records two services whatever else agrees; clustering checks them
    between every member of two clusters before joining them."""
    conflicts = []
    if a.record.source_id == b.record.source_id:
        # A source lists a service once; two of its entries are two services, however alike
        # their names read once place words are dropped ('Consultatiebureau Brederwijk').
        conflicts.append(f"two entries of one source {a.record.source_id!r}")
    if a.upl and b.upl and a.upl != b.upl:
        conflicts.append(f"different products: UPL {a.upl!r} vs {b.upl!r}")
    if (a.upl or b.upl) and a.municipality and b.municipality and a.municipality != b.municipality:
        conflicts.append(
            f"a municipal product of two municipalities: {a.municipality!r} vs {b.municipality!r}"
        )
    if (
        a.municipality
        and b.municipality
        and a.municipality != b.municipality
        and a.address_key
        and b.address_key
        and a.address_key != b.address_key
    ):
        places = f"{a.record.address.one_line()!r} vs {b.record.address.one_line()!r}"
        conflicts.append(f"two places in two municipalities: {places}")
    if a.audiences and b.audiences and not a.audiences & b.audiences:
        # 'Taalcafé voor ouderen' and 'Taalcafé voor jongeren' of one organisation are two groups.
        conflicts.append(f"names for different audiences: {sorted(a.audiences)} vs {sorted(b.audiences)}")
    if (
        a.phones
        and b.phones
        and not a.phones & b.phones
        and a.organization_stems
        and b.organization_stems
        and not a.organization_stems & b.organization_stems
    ):
        conflicts.append(
            f"different organisations ({a.record.organization!r} vs {b.record.organization!r}) "
            f"with different phones ({sorted(a.phones)} vs {sorted(b.phones)})"
        )
    return conflicts


def _contact_keys(item: RecordFeatures) -> list[str]:
    keys = [f"phone:{p}" for p in item.phones] + [f"email:{e}" for e in item.emails]
    return keys + ([f"address:{item.address_key}"] if item.address_key else [])


def _evidence_keys(item: RecordFeatures) -> list[str]:
    """Every value whose agreement is evidence besides the name: contacts, pages, the product."""
    pages = [f"page:{key}" for key in {item.website, item.page} if key]
    upl = [f"upl:{item.municipality}|{item.upl}"] if item.upl else []
    return _contact_keys(item) + pages + upl


def mark_shared_contacts(features: list[RecordFeatures]) -> list[RecordFeatures]:
    """Mark the phones, emails and addresses that one source gives to several of its records:
    a source lists a service once, so such a value belongs to an organisation or a building,
    not to one service, and agreeing on it says little."""
    per_source = Counter(
        (item.record.source_id, key) for item in features for key in set(_contact_keys(item))
    )
    shared = {key for (_source, key), count in per_source.items() if count > 1}
    return [
        replace(item, shared=frozenset(k for k in _contact_keys(item) if k in shared)) for item in features
    ]


def _detail(feature: FeatureName, similarity: float, a: RecordFeatures, b: RecordFeatures) -> str:
    """What was compared, in words a reviewer can check against the two pages."""
    if feature == "name":
        return f"{a.record.name!r} ~ {b.record.name!r} (as {a.name_text!r} ~ {b.name_text!r})"
    if feature == "description":
        return "words of the descriptions"
    if feature in ("phone", "email"):
        mine, theirs = (a.phones, b.phones) if feature == "phone" else (a.emails, b.emails)
        if similarity == 1.0:
            return f"shared {feature}: {', '.join(sorted(mine & theirs))}"
        if similarity:
            values = ", ".join(sorted(mine & theirs))
            return f"shared {feature} {values}, which one source gives several services"
        return f"no {feature} in common ({', '.join(sorted(mine))} vs {', '.join(sorted(theirs))})"
    if feature == "upl":
        return (
            f"same product (UPL {a.upl!r})" if similarity else f"different products ({a.upl!r} vs {b.upl!r})"
        )
    if feature == "website":
        if similarity == 1.0 and a.website != b.website:
            return f"one links to the page the other was found on: {a.website or b.website}"
        if similarity == 1.0:
            return f"same page {a.website}"
        return (
            f"same site {a.host}, different pages" if similarity else f"different sites {a.host} vs {b.host}"
        )
    if similarity == 1.0:
        return f"same address {a.record.address.one_line()}"
    if a.address_key == b.address_key:
        return f"same address {a.record.address.one_line()}, which one source gives several services"
    if similarity:
        return f"same postcode {a.postcode}, different house number"
    return f"different addresses {a.record.address.one_line()!r} vs {b.record.address.one_line()!r}"


# Why a pair was decided as it was, as small integers per pair (see `_REASONS`).
(
    _NO_REASON,
    _NAMES_DISAGREE,
    _CORROBORATED,
    _ONE_ORGANISATION,
    _UNCORROBORATED,
    _BELOW_MATCH,
    _SAME_PAGE,
) = range(7)
_DECISIONS: tuple[Decision, ...] = ("non_match", "uncertain", "match")
_CONTACTS: tuple[FeatureName, ...] = ("phone", "email", "address", "website")


@dataclass
class _Columns:
    """The features of every record as integer codes and 0/1 value matrices, so that equality
    and shared values of a million pairs are a few numpy operations, not a million dicts."""

    source: np.ndarray
    upl: np.ndarray
    municipality: np.ndarray
    address: np.ndarray
    address_shared: np.ndarray
    postcode: np.ndarray
    website: np.ndarray
    # A website with a path that its source gives to this record only: one service's own page.
    service_page: np.ndarray
    page: np.ndarray
    host: np.ndarray
    audiences: sparse.csr_matrix
    phones: sparse.csr_matrix
    own_phones: sparse.csr_matrix
    emails: sparse.csr_matrix
    own_emails: sparse.csr_matrix
    organisations: sparse.csr_matrix
    # The organisation's distinctive words, as one code: equal codes, one organisation named alike.
    organisation: np.ndarray

    @classmethod
    def of(cls, features: list[RecordFeatures]) -> _Columns:
        pages: dict[str, int] = {}
        phones: dict[str, int] = {}
        emails: dict[str, int] = {}
        given = Counter((item.record.source_id, item.website) for item in features if item.website)
        return cls(
            source=codes([item.record.source_id for item in features]),
            upl=codes([item.upl for item in features]),
            municipality=codes([item.municipality for item in features]),
            address=codes([item.address_key for item in features]),
            address_shared=np.fromiter(
                (f"address:{item.address_key}" in item.shared for item in features),
                dtype=bool,
                count=len(features),
            ),
            postcode=codes([item.postcode for item in features]),
            website=codes([item.website for item in features], pages),
            service_page=np.fromiter(
                (
                    item.website is not None
                    and item.website != item.host
                    and given[(item.record.source_id, item.website)] == 1
                    for item in features
                ),
                dtype=bool,
                count=len(features),
            ),
            audiences=value_matrix([item.audiences for item in features]),
            page=codes([item.page for item in features], pages),
            host=codes([item.host for item in features]),
            phones=value_matrix([item.phones for item in features], phones),
            own_phones=value_matrix(
                [[p for p in item.phones if f"phone:{p}" not in item.shared] for item in features], phones
            ),
            emails=value_matrix([item.emails for item in features], emails),
            own_emails=value_matrix(
                [[e for e in item.emails if f"email:{e}" not in item.shared] for item in features], emails
            ),
            organisations=value_matrix([item.organization_stems for item in features]),
            organisation=codes([" ".join(sorted(item.organization_stems)) or None for item in features]),
        )


def _has(matrix: sparse.csr_matrix) -> np.ndarray:
    return np.diff(matrix.indptr) > 0


def _contact_similarities(
    every: sparse.csr_matrix, own: sparse.csr_matrix, left: np.ndarray, right: np.ndarray, s: DedupSettings
) -> np.ndarray:
    """1.0 where the pair shares a value the left record's source gives only it, `shared_contact`
    where they share only values its source gives several records, 0.0 where they share none,
    NaN where one of them has none."""
    has = _has(every)
    common = pair_products(every, every, left, right)
    own_common = pair_products(own, every, left, right)
    found = np.where(own_common > 0, 1.0, np.where(common > 0, s.shared_contact, 0.0))
    return np.where(has[left] & has[right], found, np.nan)


def _similarity_columns(
    c: _Columns,
    left: np.ndarray,
    right: np.ndarray,
    name: np.ndarray,
    description: np.ndarray,
    s: DedupSettings,
) -> dict[FeatureName, np.ndarray]:
    """Each feature of every pair, 0..1, NaN where one of the two records lacks it."""

    def both(column: np.ndarray) -> np.ndarray:
        return (column[left] >= 0) & (column[right] >= 0)

    def same(column: np.ndarray) -> np.ndarray:
        return both(column) & (column[left] == column[right])

    # One links to the page the other was found on: an SC entry links to the municipality's page.
    linked = ((c.website[left] >= 0) & (c.website[left] == c.page[right])) | (
        (c.website[right] >= 0) & (c.website[right] == c.page[left])
    )
    website = np.where(same(c.website), 1.0, np.where(same(c.host), 0.5, 0.0))
    website = np.where(linked, 1.0, np.where(both(c.website), website, np.nan))
    address = np.where(
        same(c.address),
        np.where(c.address_shared[left], s.shared_contact, 1.0),
        np.where(same(c.postcode), 0.3, 0.0),
    )
    return {
        "name": name,
        "upl": np.where(both(c.upl), same(c.upl).astype(np.float64), np.nan),
        "phone": _contact_similarities(c.phones, c.own_phones, left, right, s),
        "email": _contact_similarities(c.emails, c.own_emails, left, right, s),
        "website": website,
        "address": np.where(both(c.address), address, np.nan),
        "description": description,
    }


def _conflicting(c: _Columns, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Where `hard_conflicts` finds one, for every pair at once."""

    def differ(column: np.ndarray) -> np.ndarray:
        return (column[left] >= 0) & (column[right] >= 0) & (column[left] != column[right])

    has_phones, has_organisation, has_audience = _has(c.phones), _has(c.organisations), _has(c.audiences)
    audiences_differ = (
        has_audience[left] & has_audience[right] & (pair_products(c.audiences, c.audiences, left, right) == 0)
    )
    organisations_differ = (
        has_phones[left]
        & has_phones[right]
        & has_organisation[left]
        & has_organisation[right]
        & (pair_products(c.phones, c.phones, left, right) == 0)
        & (pair_products(c.organisations, c.organisations, left, right) == 0)
    )
    return (
        (c.source[left] == c.source[right])
        | differ(c.upl)
        | (((c.upl[left] >= 0) | (c.upl[right] >= 0)) & differ(c.municipality))
        | (differ(c.municipality) & differ(c.address))
        | organisations_differ
        | audiences_differ
    )


def _point_columns(
    similarities: dict[FeatureName, np.ndarray], s: DedupSettings
) -> dict[FeatureName, np.ndarray]:
    return {
        feature: s.features[feature].agree * value - s.features[feature].disagree * (1.0 - value)
        for feature, value in similarities.items()
    }


def _same_service_page(c: _Columns, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Where both records point to one service's own page, or one links to the page the other
    was found on: a page of its own is the service's identity, whatever each source calls it."""
    website_l, website_r = c.website[left], c.website[right]
    own_l, own_r = c.service_page[left], c.service_page[right]
    return (
        (own_l & own_r & (website_l == website_r))
        | (own_l & (website_l == c.page[right]))
        | (own_r & (website_r == c.page[left]))
    )


def _decide_all(
    similarities: dict[FeatureName, np.ndarray],
    conflicting: np.ndarray,
    same_page: np.ndarray,
    same_organisation: np.ndarray,
    s: DedupSettings,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Score, decision (index into `_DECISIONS`), reason code and names-needed of every pair."""
    t = s.thresholds
    points = _point_columns(similarities, s)
    score = np.round(sum(np.nan_to_num(p, nan=0.0) for p in points.values()), 4)
    corroborating = sum(
        (np.nan_to_num(similarities[f], nan=0.0) >= t.corroborates) for f in s.corroborating_features
    )
    # Names may differ more when two independent contact details agree ('Inburgering' and
    # 'Inburgeringsroute Brederwijk' with one phone and one email), never down to unrelated names.
    name_needed = np.where(corroborating < 2, t.name_agrees, t.name_agrees_with_contact)
    name = similarities["name"]
    # A contact a source gives several services, or one organisation name on both, says 'same
    # organisation'; within one organisation a name that is nearly the same is the same service.
    organisation = same_organisation.copy()
    for feature in ("phone", "email", "address"):
        value = np.nan_to_num(similarities[feature], nan=0.0)
        organisation |= (s.shared_contact <= value) & (value < 1.0)
    decision = np.zeros(len(name), dtype=np.int8)
    reason = np.full(len(name), _NO_REASON, dtype=np.int8)
    undecided = np.ones(len(name), dtype=bool)
    rules = (
        (conflicting, 0, _NO_REASON),
        (same_page & (name >= t.name_with_same_page), 2, _SAME_PAGE),
        (name < name_needed, 0, _NAMES_DISAGREE),
        ((score >= t.match) & (corroborating > 0), 2, _CORROBORATED),
        ((score >= t.match) & organisation & (name >= t.name_same), 2, _ONE_ORGANISATION),
        ((score >= t.uncertain) & (corroborating == 0), 1, _UNCORROBORATED),
        (score >= t.uncertain, 1, _BELOW_MATCH),
    )
    for applies, verdict, why in rules:
        chosen = undecided & applies
        decision[chosen] = verdict
        reason[chosen] = why
        undecided &= ~applies
    return score, decision, reason, name_needed


def score_pairs(
    features: list[RecordFeatures],
    pairs: np.ndarray | list[tuple[int, int]],
    settings: DedupSettings,
    keep_non_matches: bool = False,
) -> list[tuple[int, int, PairExplanation]]:
    """Score and decide every candidate pair as numpy columns; return the pairs that matched or
    need review (all of them with `keep_non_matches`), explained: only those become objects."""
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    if len(pairs) == 0:
        return []
    left, right = pairs[:, 0], pairs[:, 1]
    # The mean of a set and a sort ratio: the set ratio alone calls a name equal to any name
    # that contains its words ('Schuldhulp' and 'Schuldhulp jongeren').
    names = [item.name_text for item in features]
    names_a, names_b = [names[i] for i in left.tolist()], [names[j] for j in right.tolist()]
    set_ratio = process.cpdist(names_a, names_b, scorer=fuzz.token_set_ratio, workers=-1)
    sort_ratio = process.cpdist(names_a, names_b, scorer=fuzz.token_sort_ratio, workers=-1)
    del names_a, names_b
    words = [item.name_stems for item in features]
    # 'Hulp bij schulden' is 'Schuldhulp': a name whose words are found in the other's counts.
    name_ratio = np.maximum((set_ratio + sort_ratio) / 200, containments(words, words, left, right))
    name_ratio = np.maximum(name_ratio, _upl_name_ratios(features, left, right))
    if not keep_non_matches:
        # A pair whose names disagree and that shares no contact, page or product cannot match,
        # go to review or compete as a counterpart: it is decided here, in bulk.
        floor = min(settings.thresholds.name_agrees_with_contact, settings.thresholds.name_same)
        evidence = weighted_words([_evidence_keys(item) for item in features])
        worth = (name_ratio >= floor) | (pair_cosines(evidence, left, right) > 0)
        left, right, name_ratio = left[worth], right[worth], name_ratio[worth]
        if len(left) == 0:
            return []
    texts = [" ".join(item.description_stems) for item in features]
    has_text = np.fromiter((bool(t) for t in texts), dtype=bool, count=len(texts))
    described = np.flatnonzero(has_text[left] & has_text[right])
    description = np.full(len(left), np.nan)
    if len(described):
        description[described] = (
            process.cpdist(
                [texts[i] for i in left[described].tolist()],
                [texts[j] for j in right[described].tolist()],
                scorer=fuzz.token_set_ratio,
                workers=-1,
            )
            / 100
        )
    columns = _Columns.of(features)
    similarities = _similarity_columns(columns, left, right, name_ratio, description, settings)
    conflicting = _conflicting(columns, left, right)
    same_page = _same_service_page(columns, left, right)
    same_organisation = (columns.organisation[left] >= 0) & (
        columns.organisation[left] == columns.organisation[right]
    )
    score, decision, reason, name_needed = _decide_all(
        similarities, conflicting, same_page, same_organisation, settings
    )
    closest = _closest_counterparts(columns, left, right, similarities, decision, conflicting, settings)
    decision[closest] = 2
    kept = np.arange(len(left)) if keep_non_matches else np.flatnonzero(decision > 0)
    closest_set = set(closest.tolist())
    points = _point_columns(similarities, settings)
    # Only kept pairs become objects, their columns as Python lists read once.
    kept_similarities = {f: v[kept].tolist() for f, v in similarities.items()}
    kept_points = {f: v[kept].tolist() for f, v in points.items()}
    explained = []
    for x, (k, i, j) in enumerate(zip(kept.tolist(), left[kept].tolist(), right[kept].tolist(), strict=True)):
        a, b = features[i], features[j]
        found = [
            (f, v[x], kept_points[f][x])
            for f, v in kept_similarities.items()
            if v[x] == v[x]  # NaN: absent
        ]
        reasons = _reasons(int(reason[k]), found, float(score[k]), float(name_needed[k]), settings)
        if k in closest_set:
            reasons.append("but each is the other's closest entry in its source among those sharing contacts")
        conflicts = hard_conflicts(a, b) if conflicting[k] else []
        explained.append(
            (i, j, _explain(a, b, found, float(score[k]), _DECISIONS[decision[k]], conflicts, reasons))
        )
    return explained


def _reasons(
    code: int,
    found: list[tuple[FeatureName, float, float]],
    score: float,
    name_needed: float,
    s: DedupSettings,
) -> list[str]:
    """The reason for a decision, in words, from its code."""
    similarity = {feature: value for feature, value, _ in found}
    name = similarity["name"]
    corroborating = [
        f for f in s.corroborating_features if similarity.get(f, 0.0) >= s.thresholds.corroborates
    ]
    if code == _NAMES_DISAGREE:
        return [f"names disagree ({name:.2f} < {name_needed})"]
    if code == _CORROBORATED:
        return [f"name agrees, corroborated by {', '.join(corroborating)}"]
    if code == _ONE_ORGANISATION:
        shared = [
            f for f in ("phone", "email", "address") if s.shared_contact <= similarity.get(f, 0.0) < 1.0
        ]
        evidence = f"{', '.join(shared)} shared" if shared else "both name it alike"
        return [f"name the same ({name:.2f}) within one organisation ({evidence})"]
    if code == _UNCORROBORATED:
        return [f"name agrees but nothing of {s.corroborating_features} corroborates it"]
    if code == _SAME_PAGE:
        return [f"both point to one service's own page (names {name:.2f})"]
    if code == _BELOW_MATCH:
        return [f"score {score:.1f} below the match threshold {s.thresholds.match}"]
    return []


def _closest_counterparts(
    c: _Columns,
    left: np.ndarray,
    right: np.ndarray,
    similarities: dict[FeatureName, np.ndarray],
    decision: np.ndarray,
    conflicting: np.ndarray,
    s: DedupSettings,
) -> np.ndarray:
    """Pairs refused only for their names that are each other's closest counterpart.

    A source lists a service once, so when two sources list one organisation's services under
    their own names ('Buren voor Buren', 'Burenhulp De Linde'), the entry of the other source
    that shares contact details and reads most alike (name and description) is the same
    service, when it is so both ways and clearly ahead of the next one. An entry that already
    matched an entry of the other source has its counterpart there and competes no more."""
    source = c.source
    counterpart: dict[tuple[int, int], int] = {}
    for i, j in zip(left[decision == 2].tolist(), right[decision == 2].tolist(), strict=True):
        counterpart.setdefault((i, int(source[j])), j)
        counterpart.setdefault((j, int(source[i])), i)
    contact = {f: np.nan_to_num(similarities[f], nan=-1.0) for f in _CONTACTS}
    sharing = ~conflicting & np.logical_or.reduce([v >= s.shared_contact for v in contact.values()])
    # Two phones, mailboxes or buildings of one organisation are two services' own.
    disagree = np.logical_or.reduce([v == 0.0 for v in contact.values()])
    resemblance = similarities["name"] + np.nan_to_num(similarities["description"], nan=0.0)
    # Contacts of the organisation alone (its switchboard, info@, its building) say less than a
    # direct line or mailbox of the service: the names and descriptions must then say more.
    own = np.logical_or.reduce([v == 1.0 for v in contact.values()])
    required = np.where(own, s.thresholds.closest_resemblance, s.thresholds.closest_resemblance_shared)
    candidates = sharing & (decision == 0) & ~disagree & (resemblance >= required)
    if not candidates.any():
        return np.zeros(0, dtype=np.int64)
    # For each record and each other source: the text similarity (name and description) of the
    # entries it shares contacts with and that are still free to be its counterpart; needed
    # only for the (record, other source) of the candidates.
    sources = int(source.max()) + 1
    forward, backward = left * sources + source[right], right * sources + source[left]
    needed = np.concatenate([forward[candidates], backward[candidates]])
    relevant = np.isin(forward, needed) | np.isin(backward, needed)
    options: dict[tuple[int, int], list[tuple[float, int]]] = {}
    text: dict[int, float] = {}
    ks = np.flatnonzero(sharing & relevant)
    for k, i, j, r, candidate in zip(
        ks.tolist(),
        left[ks].tolist(),
        right[ks].tolist(),
        resemblance[ks].tolist(),
        candidates[ks].tolist(),
        strict=True,
    ):
        source_i, source_j = int(source[i]), int(source[j])
        if candidate and (i, source_j) not in counterpart and (j, source_i) not in counterpart:
            text[k] = r
        for side, other, side_source, other_source in (
            (i, j, source_i, source_j),
            (j, i, source_j, source_i),
        ):
            if counterpart.get((other, side_source), side) == side:
                options.setdefault((side, other_source), []).append((r, k))
    chosen = []
    for k, r in text.items():
        i, j = int(left[k]), int(right[k])
        mutual = True
        for side, other in ((i, int(source[j])), (j, int(source[i]))):
            ranked = sorted(options[(side, other)], reverse=True)
            runner_up = ranked[1][0] if len(ranked) > 1 else 0.0
            if ranked[0][1] != k or r - runner_up < s.thresholds.closest_margin:
                mutual = False
        if mutual:
            chosen.append(k)
    return np.asarray(chosen, dtype=np.int64)


def _upl_name_ratios(features: list[RecordFeatures], left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """For every pair, how well the uniform product name of one record matches the other's
    name (0.0 where neither has a UPL), in bulk: the municipality's 'Mantelzorgcompliment' is
    the UPL 'mantelzorgwaardering'."""
    best = np.zeros(len(left))
    uniform = [tuple(item.upl_text.split()) if item.upl_text else () for item in features]
    names = [item.name_stems for item in features]
    has_upl = np.fromiter((bool(u) for u in uniform), dtype=bool, count=len(uniform))
    for own, other in ((left, right), (right, left)):
        ks = np.flatnonzero(has_upl[own])
        if len(ks) == 0:
            continue
        upl_of, name_of = own[ks].tolist(), other[ks].tolist()
        texts_u = [features[i].upl_text for i in upl_of]
        texts_n = [features[j].name_text for j in name_of]
        ratios = (
            process.cpdist(texts_u, texts_n, scorer=fuzz.token_set_ratio, workers=-1)
            + process.cpdist(texts_u, texts_n, scorer=fuzz.token_sort_ratio, workers=-1)
        ) / 200
        contained = containments(uniform, names, upl_of, name_of)
        best[ks] = np.maximum(best[ks], np.maximum(ratios, contained))
    return best


def _explain(
    a: RecordFeatures,
    b: RecordFeatures,
    found: list[tuple[FeatureName, float, float]],
    score: float,
    decision: Decision,
    conflicts: list[str],
    reasons: list[str],
) -> PairExplanation:
    ordered = sorted((a.record.record_id, b.record.record_id))
    # Features as mappings: pydantic validates the whole explanation in one call.
    return PairExplanation(
        a=ordered[0],
        b=ordered[1],
        score=score,
        decision=decision,
        features=[
            FeatureScore(feature, round(similarity, 4), points, _detail(feature, similarity, a, b))
            for feature, similarity, points in found
        ],
        conflicts=conflicts,
        reasons=reasons,
    )


def explain_pair(
    a: NormalizedRecord, b: NormalizedRecord, settings: DedupSettings | None = None
) -> PairExplanation:
    """Score one pair as `deduplicate` would, to answer 'why (not) merged?'. Only these two
    records show which contact details are shared by several services of one source, so a
    phone that other records of a source also list counts fully here."""
    settings = settings or load_dedup_settings()
    features = mark_shared_contacts([prepare(a, settings), prepare(b, settings)])
    [(_, _, explanation)] = score_pairs(features, [(0, 1)], settings, keep_non_matches=True)
    return explanation
