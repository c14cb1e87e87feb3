"""Pair scoring: how much two records look like one service, with the evidence that says so."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, replace
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import numpy as np
import snowballstemmer
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from rapidfuzz import fuzz, process

from servicemap.dedup.bulk import containments, pair_cosines, weighted_words
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
    corroborates: float = Field(ge=0.0, le=1.0)

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


def _words(text: str | None) -> list[str]:
    return _WORD.findall(text.lower()) if text else []


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
    name = with_synonyms(record.name, settings)
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
        organization_stems=frozenset(name_stems(record.organization, dropped)),
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
    )


class FeatureScore(BaseModel):
    """One compared feature: how similar (0..1), the points it gave, and what was compared."""

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


def _contact_similarity(
    kind: str, a: frozenset[str], b: frozenset[str], item: RecordFeatures, s: DedupSettings
) -> float | None:
    if not a or not b:
        return None
    common = a & b
    if not common:
        return 0.0
    own = [value for value in common if f"{kind}:{value}" not in item.shared]
    return 1.0 if own else s.shared_contact


def _similarities(
    a: RecordFeatures, b: RecordFeatures, name: float, description_ratio: float | None, s: DedupSettings
) -> dict[FeatureName, float]:
    """Each feature both records have, 0..1; a feature one of them lacks is left out."""
    found: dict[FeatureName, float | None] = {
        "name": name,
        "upl": None if not a.upl or not b.upl else float(a.upl == b.upl),
        "phone": _contact_similarity("phone", a.phones, b.phones, a, s),
        "email": _contact_similarity("email", a.emails, b.emails, a, s),
        "website": None,
        "address": None,
        "description": description_ratio,
    }
    if (a.website and a.website == b.page) or (b.website and b.website == a.page):
        found["website"] = 1.0
    elif a.website and b.website:
        found["website"] = 1.0 if a.website == b.website else 0.5 if a.host == b.host else 0.0
    if a.address_key and b.address_key:
        same_postcode = a.postcode and a.postcode == b.postcode
        if a.address_key == b.address_key:
            found["address"] = s.shared_contact if f"address:{a.address_key}" in a.shared else 1.0
        else:
            found["address"] = 0.3 if same_postcode else 0.0
    return {feature: value for feature, value in found.items() if value is not None}


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


def score_pairs(
    features: list[RecordFeatures],
    pairs: list[tuple[int, int]],
    settings: DedupSettings,
    keep_non_matches: bool = False,
) -> list[tuple[int, int, PairExplanation]]:
    """Score and decide every candidate pair, the text similarities in bulk; return the pairs
    that matched or need review (all of them with `keep_non_matches`), explained."""
    if not pairs:
        return []
    # The mean of a set and a sort ratio: the set ratio alone calls a name equal to any name
    # that contains its words ('Schuldhulp' and 'Schuldhulp jongeren').
    names_a = [features[i].name_text for i, _ in pairs]
    names_b = [features[j].name_text for _, j in pairs]
    set_ratio = process.cpdist(names_a, names_b, scorer=fuzz.token_set_ratio, workers=-1)
    sort_ratio = process.cpdist(names_a, names_b, scorer=fuzz.token_sort_ratio, workers=-1)
    left, right = [i for i, _ in pairs], [j for _, j in pairs]
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
        pairs = [pairs[k] for k in np.flatnonzero(worth).tolist()]
        name_ratio = name_ratio[worth]
        if not pairs:
            return []
    name_ratio = name_ratio.tolist()
    texts = [" ".join(item.description_stems) for item in features]
    described = [k for k, (i, j) in enumerate(pairs) if texts[i] and texts[j]]
    description_ratio: dict[int, float] = {}
    if described:
        ratios = process.cpdist(
            [texts[pairs[k][0]] for k in described],
            [texts[pairs[k][1]] for k in described],
            scorer=fuzz.token_set_ratio,
            workers=-1,
        )
        description_ratio = dict(zip(described, (ratios / 100).tolist(), strict=True))
    similarities = [
        _similarities(features[i], features[j], name_ratio[k], description_ratio.get(k), settings)
        for k, (i, j) in enumerate(pairs)
    ]
    decisions = [
        _decide(features[i], features[j], similarities[k], settings) for k, (i, j) in enumerate(pairs)
    ]
    for k in _closest_counterparts(features, pairs, similarities, decisions, settings):
        score, _, conflicts, reasons = decisions[k]
        decisions[k] = (
            score,
            "match",
            conflicts,
            [*reasons, "but each is the other's closest entry in its source among those sharing contacts"],
        )
    kept = []
    for k, (i, j) in enumerate(pairs):
        if keep_non_matches or decisions[k][1] != "non_match":
            a, b = features[i], features[j]
            kept.append((i, j, _explain(a, b, similarities[k], *decisions[k], settings)))
    return kept


def _closest_counterparts(
    features: list[RecordFeatures],
    pairs: list[tuple[int, int]],
    similarities: list[dict[FeatureName, float]],
    decisions: list[tuple[float, Decision, list[str], list[str]]],
    s: DedupSettings,
) -> list[int]:
    """Pairs refused only for their names that are each other's closest counterpart.

    A source lists a service once, so when two sources list one organisation's services under
    their own names ('Buren voor Buren', 'Burenhulp De Linde'), the entry of the other source
    that shares contact details and reads most alike (name and description) is the same
    service, when it is so both ways and clearly ahead of the next one. An entry that already
    matched an entry of the other source has its counterpart there and competes no more."""
    contact = ("phone", "email", "address", "website")
    source = [item.record.source_id for item in features]
    counterpart: dict[tuple[int, str], int] = {}
    for k, (i, j) in enumerate(pairs):
        if decisions[k][1] == "match":
            counterpart.setdefault((i, source[j]), j)
            counterpart.setdefault((j, source[i]), i)
    # For each record and each other source: the text similarity (name and description) of the
    # entries it shares contacts with and that are still free to be its counterpart.
    options: dict[tuple[int, str], list[tuple[float, int]]] = {}
    text: dict[int, float] = {}
    for k, (i, j) in enumerate(pairs):
        found = similarities[k]
        if decisions[k][2] or not any(found.get(f, 0.0) >= s.shared_contact for f in contact):
            continue
        resemblance = found["name"] + found.get("description", 0.0)
        # Two phones, mailboxes or buildings of one organisation are two services' own.
        disagree = any(found.get(f) == 0.0 for f in contact)
        if (
            decisions[k][1] == "non_match"
            and not disagree
            and not ((i, source[j]) in counterpart or (j, source[i]) in counterpart)
        ):
            text[k] = resemblance
        for side, other in ((i, j), (j, i)):
            if counterpart.get((other, source[side]), side) == side:
                options.setdefault((side, source[other]), []).append((resemblance, k))
    chosen = []
    for k, resemblance in text.items():
        i, j = pairs[k]
        mutual = resemblance >= s.thresholds.closest_resemblance
        for side, other in ((i, source[j]), (j, source[i])):
            ranked = sorted(options[(side, other)], reverse=True)
            runner_up = ranked[1][0] if len(ranked) > 1 else 0.0
            if ranked[0][1] != k or resemblance - runner_up < s.thresholds.closest_margin:
                mutual = False
        if mutual:
            chosen.append(k)
    return chosen


def _upl_name_ratios(features: list[RecordFeatures], left: list[int], right: list[int]) -> np.ndarray:
    """For every pair, how well the uniform product name of one record matches the other's
    name (0.0 where neither has a UPL), in bulk: the municipality's 'Mantelzorgcompliment' is
    the UPL 'mantelzorgwaardering'."""
    best = np.zeros(len(left))
    uniform = [tuple(item.upl_text.split()) if item.upl_text else () for item in features]
    names = [item.name_stems for item in features]
    for own, other in ((left, right), (right, left)):
        ks = [k for k, i in enumerate(own) if uniform[i]]
        if not ks:
            continue
        upl_of, name_of = [own[k] for k in ks], [other[k] for k in ks]
        texts_u = [features[i].upl_text for i in upl_of]
        texts_n = [features[j].name_text for j in name_of]
        ratios = (
            process.cpdist(texts_u, texts_n, scorer=fuzz.token_set_ratio, workers=-1)
            + process.cpdist(texts_u, texts_n, scorer=fuzz.token_sort_ratio, workers=-1)
        ) / 200
        contained = containments(uniform, names, upl_of, name_of)
        best[ks] = np.maximum(best[ks], np.maximum(ratios, contained))
    return best


def _points(similarities: dict[FeatureName, float], s: DedupSettings) -> dict[FeatureName, float]:
    return {
        feature: s.features[feature].agree * value - s.features[feature].disagree * (1.0 - value)
        for feature, value in similarities.items()
    }


def _decide(
    a: RecordFeatures, b: RecordFeatures, similarities: dict[FeatureName, float], s: DedupSettings
) -> tuple[float, Decision, list[str], list[str]]:
    """Score, decision, conflicts and the reasons for the decision."""
    score = round(sum(_points(similarities, s).values()), 4)
    conflicts = hard_conflicts(a, b)
    corroborating = [
        f for f in s.corroborating_features if similarities.get(f, 0.0) >= s.thresholds.corroborates
    ]
    # Names may differ more when two independent contact details agree ('Inburgering' and
    # 'Inburgeringsroute Brederwijk' with one phone and one email), never down to unrelated names.
    name_needed = (
        s.thresholds.name_agrees if len(corroborating) < 2 else s.thresholds.name_agrees_with_contact
    )
    name = similarities["name"]
    if conflicts:
        return score, "non_match", conflicts, []
    if name < name_needed:
        return score, "non_match", conflicts, [f"names disagree ({name:.2f} < {name_needed})"]
    if score >= s.thresholds.match and corroborating:
        return score, "match", conflicts, [f"name agrees, corroborated by {', '.join(corroborating)}"]
    # A contact a source gives several services says 'same organisation'; within one
    # organisation a name that is nearly the same is the same service.
    organisation = [
        f for f in ("phone", "email", "address") if s.shared_contact <= similarities.get(f, 0.0) < 1.0
    ]
    if score >= s.thresholds.match and organisation and name >= s.thresholds.name_same:
        return (
            score,
            "match",
            conflicts,
            [f"name the same ({name:.2f}) within one organisation ({', '.join(organisation)} shared)"],
        )
    if score >= s.thresholds.uncertain:
        if not corroborating:
            return (
                score,
                "uncertain",
                conflicts,
                [f"name agrees but nothing of {s.corroborating_features} corroborates it"],
            )
        return (
            score,
            "uncertain",
            conflicts,
            [f"score {score:.1f} below the match threshold {s.thresholds.match}"],
        )
    return score, "non_match", conflicts, []


def _explain(
    a: RecordFeatures,
    b: RecordFeatures,
    similarities: dict[FeatureName, float],
    score: float,
    decision: Decision,
    conflicts: list[str],
    reasons: list[str],
    s: DedupSettings,
) -> PairExplanation:
    points = _points(similarities, s)
    ordered = sorted((a.record.record_id, b.record.record_id))
    return PairExplanation(
        a=ordered[0],
        b=ordered[1],
        score=score,
        decision=decision,
        features=[
            FeatureScore(
                feature=feature,
                similarity=round(value, 4),
                points=points[feature],
                detail=_detail(feature, value, a, b),
            )
            for feature, value in similarities.items()
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
