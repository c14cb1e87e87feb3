"""Search the current directory: one interface, FTS5 on SQLite and `tsvector` on PostgreSQL.

A query never reaches the search engine as written: it is cut into words, stop words are
dropped, a municipality or postcode in it becomes a filter, phrases of the taxonomy's synonym
groups are widened to the whole group, each word is reduced to its stem, corrected when the
index has no such word, and only then quoted into the engine's syntax. So 'schuld* OR "' or
'NEAR(' search for words, they do not raise or change the query.
"""

from __future__ import annotations

import bisect
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, ConfigDict, Field
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein
from sqlalchemy import Connection, text

from servicemap.classify import load_taxonomy
from servicemap.publish.db import one_of, reading
from servicemap.publish.rows import DOMAIN_TAXONOMY
from servicemap.publish.search_index import (
    POSTGRES_TITLE,
    SEARCH_TABLE,
    SQLITE_VOCABULARY,
    TAG_PREFIX,
    tag,
)
from servicemap.publish.tables import SynonymGroup, UTCDateTime
from servicemap.publish.text import STOP_WORDS, fold, stem, words
from servicemap.publish.versions import NoDirectoryPublished, directory_engine
from servicemap.search.geocode import GeocoderError, PdokGeocoder
from servicemap.secrets import redact_url

MAX_QUERY_LENGTH = 200
MAX_LIMIT = 100
AUDIENCE_TAXONOMY = "audience"
# Facet filters of `search()` and the `service_facet` taxonomy each one reads.
FACET_FILTERS = {"audience": AUDIENCE_TAXONOMY, "sector": "sector", "access": "access"}
# A typo is corrected only in a word this long, and only by this many edits: shorter words
# have too many neighbours ('zorg' is one edit from 'borg').
TYPO_MIN_LENGTH = 6
TYPO_MAX_EDITS = 2
# A stem is at least this long, and drops at most this many letters of a word.
MIN_STEM = 4
MAX_SUFFIX = 5
# bm25 column weights, in the index's column order: name, organization, domains, description,
# tags (which filter, never score).
SQLITE_WEIGHTS = (10.0, 4.0, 2.0, 1.0, 0.0)
# The columns whose matches rank first: the heaviest two.
TITLE_COLUMNS = ("name", "organization")
# ts_rank weights in PostgreSQL's order: D (description), C (domains), B (organization), A (name).
# ts_rank, not ts_rank_cd: a broad word's matches are ranked by the thousand, and ts_rank_cd
# took 1.7 us a match to ts_rank's 0.25 (17.6 against 6.2 ms for 'schulden' at 100,000
# services); the quality set finds the same services first with either.
POSTGRES_WEIGHTS = "{0.1, 0.2, 0.4, 1.0}"
# Ranking reads every match, and a broad word ('hulp') matches tens of thousands of services
# in a large directory. So the engine ranks its matches alone, without a join (on SQLite with
# the filters it has as tags), and hands over only the best: first FIRST_CANDIDATES per hit
# asked for, which is enough when the index applied every filter; then CANDIDATE_CAP, when
# that many would hold `limit` at the share of the first that passed. The other filters run
# on those. That is the top `limit` (up to the order of equal scores) whenever `limit` of
# them pass; when fewer pass and the cap was full, only the matches among the passing
# services are ranked.
FIRST_CANDIDATES = 2
# ... and this many when a filter the index does not apply (a distance, opening hours) leaves
# out some of them.
FIRST_CANDIDATES_CHECKED = 20
CANDIDATE_CAP = 2000
# A filter that at most this many services pass (on PostgreSQL a domain, an audience, a
# municipality in a large region; on both a distance) is applied first, and only the matches
# among them are ranked: few of the best matches overall would pass it.
PREFILTER_MAX = 5000
# When few of the best matches pass and at most this many services match, every match is
# checked against the filters and those that pass are ranked.
MATCHES_FIRST_MAX = 10000
SNIPPET_LENGTH = 160
# Services whose hit details are kept per process (a few hundred bytes each).
SHOWN_CACHE = 20_000
DEFAULT_RADIUS_KM = 10.0
MAX_RADIUS_KM = 300.0
KM_PER_DEGREE = 111.2
_POSTCODE = re.compile(r"^\s*([1-9]\d{3})\s*([A-Za-z]{2})?\s*$")
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
MAX_AGE = 120
AUDIENCE_AGES = Path(__file__).with_name("audience_ages.yaml")
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")
AMSTERDAM = ZoneInfo("Europe/Amsterdam")


# A search runs the same few statements again and again: each is parsed for its parameters once.
_statement = lru_cache(maxsize=512)(text)


class InvalidQuery(ValueError):
    """A search that cannot be run as asked; the message says what to change."""


class TermMatch(BaseModel):
    """One query word of a hit's explanation: the index term it searched and where it matched."""

    word: str
    term: str
    fields: list[str]


class SearchHit(BaseModel):
    service_id: str
    name: str
    organization: str | None = None
    municipality: str | None = None
    domains: list[str] = Field(default_factory=list)
    score: float
    snippet: str | None = None
    description: str | None = None
    phones: list[str] = Field(default_factory=list)
    address: str | None = None
    website: str | None = None
    status: str = "active"
    distance_km: float | None = None
    explanation: list[TermMatch] | None = None


@dataclass(frozen=True)
class _Concept:
    """One thing the user asked for: the words they typed and the index terms of each
    alternative (a synonym phrase is one alternative, all of whose terms must match)."""

    word: str
    alternatives: tuple[tuple[str, ...], ...]
    typed: tuple[str, ...] | None = None


@dataclass(frozen=True)
class _Point:
    latitude: float
    longitude: float
    radius_km: float


class SearchFilters(BaseModel):
    """What a service must be, besides matching the words; None means any.

    `zrm` and `positive_health` select the life domains the taxonomy maps to that ZRM domain
    or Positive Health dimension. `near_postcode` ('3511 AB' or '3511') keeps the services
    within `radius_km` of the centroid of the directory's located addresses with that postcode.
    `open_at` keeps the services whose weekly opening hours include that weekday and time
    (`amsterdam_now()` for "open now"); hours written only as a note ('op afspraak') do not
    count. `age` keeps the services whose audience admits that age (see audience_ages.yaml).
    `organization_id`, `taxonomy_term_id` and `modified_after` are HSDS's filters by id and
    by the date a service was last seen on its sources (HSDS last_modified). An unknown
    filter is refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    domain: str | None = None
    zrm: str | None = None
    positive_health: str | None = None
    audience: str | None = None
    sector: str | None = None
    access: str | None = None
    municipality: str | None = None
    language: str | None = None
    near_postcode: str | None = None
    radius_km: float | None = None
    open_at: datetime | None = None
    age: int | None = None
    organization_id: str | None = None
    taxonomy_term_id: str | None = None
    modified_after: datetime | None = None
    include_inactive: bool = False

    def narrows(self) -> bool:
        """Whether any filter but `include_inactive` is set."""
        return any(v is not None for k, v in vars(self).items() if k != "include_inactive")


@dataclass(frozen=True)
class Ranking:
    """The services a search found in one directory version, best first, as (id, score)."""

    version: str
    ranked: list[tuple[str, float]]
    # How many services the search found in all: more than `ranked` for a page of a list;
    # None for a list whose caller did not ask for its count (see `rank`).
    total: int | None
    point: _Point | None = None
    concepts: list[_Concept] = field(default_factory=list)


def amsterdam_now() -> datetime:
    """The time on Dutch clocks, for "open now": opening hours are written in local time."""
    return datetime.now(AMSTERDAM)


def search(
    url: str,
    query: str,
    *,
    limit: int = 10,
    synonyms: Sequence[Sequence[str]] | None = None,
    explain: bool = False,
    geocoder: PdokGeocoder | None = None,
    **filters: object,
) -> list[SearchHit]:
    """Services of the current directory that match `query`, best first, each with what a
    result list shows; `filters` are the fields of `SearchFilters`.

    An empty query with a filter lists the services that pass the filter, by name.
    `geocoder` locates a `near_postcode` the directory has no address for; by default the
    PDOK Locatieserver when SERVICEMAP_PDOK_GEOCODER_URL is set, else none.
    `synonyms` replaces the groups stored at publish time, e.g. [["eenzaam", "alleen"]].
    `explain` adds to each hit which query words matched which fields.
    """
    wanted = SearchFilters(**filters)
    if not query.strip() and not wanted.narrows():
        raise InvalidQuery(
            "give words to search for, or a domain, municipality, audience or postcode to list"
        )
    with reading(directory_engine(url)) as connection:
        found = rank(connection, url, query, wanted, limit=limit, synonyms=synonyms, geocoder=geocoder)
        return _hits(connection, found, explain)


def rank(
    connection: Connection,
    url: str,
    query: str,
    filters: SearchFilters,
    *,
    limit: int = 10,
    offset: int = 0,
    counted: bool = False,
    synonyms: Sequence[Sequence[str]] | None = None,
    geocoder: PdokGeocoder | None = None,
) -> Ranking:
    """The ids of the services `search` finds, read on the caller's connection (so in its
    snapshot), without building hits: for a caller that shows its own view of them.

    When the query has no words to rank, the services that pass are listed by name: `limit`
    of them after the first `offset`. With `counted`, `total` counts them all (a page of a
    long list); counting reads every service that passes, which in a large directory costs
    far more than the page (some 100 ms for a municipality's 30,000 services), so a caller
    that shows no count does not ask for it."""
    query = query.strip()
    _check(query, limit, filters)
    version = connection.execute(_statement("SELECT id FROM directory_version WHERE is_current")).scalar()
    if version is None:
        raise NoDirectoryPublished(f"no directory has been published to {redact_url(url)!r} yet")
    domains = _domains(connection, version, filters.domain, filters.zrm, filters.positive_health)
    facets = {name: getattr(filters, name) for name in FACET_FILTERS}
    for name, term in facets.items():
        if term is not None:
            _check_term(connection, version, FACET_FILTERS[name], term, name)
    if filters.taxonomy_term_id is not None:
        _check_term_id(connection, version, filters.taxonomy_term_id)
    query_words = words(query)
    municipality, near_postcode = filters.municipality, filters.near_postcode
    if municipality is None:
        municipality, query_words = _municipality_in(url, version, query_words)
    if near_postcode is None:
        near_postcode, query_words = _postcode_in(url, version, query_words)
    point = None
    if near_postcode is not None:
        if geocoder is None:
            geocoder = PdokGeocoder.from_env()
        point = _locate(url, version, near_postcode, filters.radius_km or DEFAULT_RADIUS_KM, geocoder)
    conditions = _filters(connection, url, version, domains, facets, municipality, point, filters)
    conditions.indexed_versions = _indexed_versions(connection, url, version)
    if not query_words:
        few_pass = _few_pass(connection, conditions)
        listed = _list(connection, conditions, limit, offset, few_pass)
        total = None
        if counted:
            last_page = 0 < len(listed) < limit  # its services are all that remain
            total = offset + len(listed) if last_page else _count(connection, conditions, few_pass)
        return Ranking(version, listed, total, point)
    vocabulary = _vocabulary(connection, url, version)
    concepts = _concepts(query_words, _synonym_groups(url, version, synonyms), vocabulary)
    ranked = []
    if concepts:
        # SQLite's full-text query applies the tagged filters itself: only the others (a
        # distance) are worth reading first.
        prefilter = _few_pass(connection, conditions, conditions.untagged)
        ranked = _match(connection, concepts, vocabulary, conditions, limit, prefilter)
    return Ranking(version, ranked, len(ranked), point, concepts)


def _check(query: str, limit: int, filters: SearchFilters) -> None:
    if len(query) > MAX_QUERY_LENGTH:
        raise InvalidQuery(
            f"the query is {len(query)} characters long; at most {MAX_QUERY_LENGTH} are searched"
        )
    if query and not words(query):
        raise InvalidQuery(f"the query {query!r} has no words to search for (letters or digits)")
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidQuery(f"limit={limit}: expected 1 to {MAX_LIMIT}")
    if filters.near_postcode is not None and not _POSTCODE.match(filters.near_postcode):
        raise InvalidQuery(
            f"near_postcode {filters.near_postcode!r} is not a Dutch postcode "
            "(expected e.g. '3511 AB' or '3511')"
        )
    if filters.radius_km is not None:
        if filters.near_postcode is None:
            raise InvalidQuery(f"radius_km={filters.radius_km:g} needs a near_postcode to measure from")
        if not 0 < filters.radius_km <= MAX_RADIUS_KM:
            raise InvalidQuery(
                f"radius_km={filters.radius_km:g}: expected more than 0 and at most {MAX_RADIUS_KM:g}"
            )
    if filters.language is not None and not _LANGUAGE.match(filters.language.lower()):
        raise InvalidQuery(
            f"language {filters.language!r} is not a language code (expected e.g. 'nl' or 'en')"
        )
    if filters.age is not None and not 0 <= filters.age <= MAX_AGE:
        raise InvalidQuery(f"age={filters.age}: expected a whole number of years from 0 to {MAX_AGE}")


def _check_term_id(connection: Connection, version: str, term_id: str) -> None:
    known = connection.execute(
        _statement("SELECT 1 FROM taxonomy_term WHERE directory_version_id = :v AND id = :id"),
        {"v": version, "id": term_id},
    ).first()
    if known is None:
        raise InvalidQuery(
            f"taxonomy_term_id {term_id!r} is not a taxonomy term of this directory (see /taxonomy_terms)"
        )


def _check_term(connection: Connection, version: str, taxonomy: str, term: str, what: str) -> None:
    known = list(
        connection.execute(
            _statement(
                "SELECT code FROM taxonomy_term WHERE directory_version_id = :v AND taxonomy = :t "
                "ORDER BY code"
            ),
            {"v": version, "t": taxonomy},
        ).scalars()
    )
    if term not in known:
        raise InvalidQuery(f"{what} {term!r} is not a term of the published {taxonomy!r} taxonomy ({known})")


def _domains(
    connection: Connection, version: str, domain: str | None, zrm: str | None, positive_health: str | None
) -> list[str] | None:
    """The life domains a service must have one of (None: any), from the domain, ZRM and
    Positive Health filters; each given filter narrows the set."""
    selected: set[str] | None = None
    if domain is not None:
        _check_term(connection, version, DOMAIN_TAXONOMY, domain, "domain")
        selected = {domain}
    for value, what in ((zrm, "zrm"), (positive_health, "positive_health")):
        if value is None:
            continue
        mapping = _domain_mapping(what)
        key = fold(value).strip()
        if key not in mapping:
            shown = sorted({name for name, _ in mapping.values()})
            raise InvalidQuery(f"{what} {value!r} is not in the taxonomy (expected one of {shown})")
        domains = mapping[key][1]
        selected = domains if selected is None else selected & domains
    return None if selected is None else sorted(selected)


@lru_cache(maxsize=2)
def _domain_mapping(what: str) -> dict[str, tuple[str, set[str]]]:
    """Folded ZRM domain or Positive Health dimension -> (its name, the life domains mapped to it)."""
    mapping: dict[str, tuple[str, set[str]]] = {}
    for term in load_taxonomy().life_domains:
        names = term.zrm or [] if what == "zrm" else [term.positive_health] if term.positive_health else []
        for name in names:
            mapping.setdefault(fold(name), (name, set()))[1].add(term.id)
    return mapping


def _municipality_in(url: str, version: str, query_words: list[str]) -> tuple[str | None, list[str]]:
    """A municipality of the directory named in the query becomes the municipality filter:
    'hulp bij schulden Aldermeer' searches 'hulp bij schulden' in Aldermeer."""
    names = _municipalities(url, version)
    for name in sorted(names, key=lambda n: -len(words(n))):
        parts = words(name)
        for start in range(len(query_words) - len(parts) + 1):
            if parts and query_words[start : start + len(parts)] == parts:
                return name, query_words[:start] + query_words[start + len(parts) :]
    return None, query_words


@lru_cache(maxsize=8)
def _municipalities(url: str, version: str) -> tuple[str, ...]:
    """The municipalities of a published version, which never changes: read once."""
    with directory_engine(url).connect() as connection:
        names = connection.execute(
            _statement(
                "SELECT DISTINCT municipality FROM service WHERE directory_version_id = :v "
                "AND municipality IS NOT NULL"
            ),
            {"v": version},
        ).scalars()
        return tuple(names)


def _postcode_in(url: str, version: str, query_words: list[str]) -> tuple[str | None, list[str]]:
    """A postcode in the query ('formulierenhulp bij 3511') becomes the distance filter, when
    the directory has located addresses there; otherwise it stays a word ('wmo 2015'). The
    geocoder is not asked: a number in a query is more often not a postcode."""
    for index, word in enumerate(query_words):
        if not re.fullmatch(r"[1-9]\d{3}", word):
            continue
        end = index + 1
        if end < len(query_words) and re.fullmatch(r"[a-z]{2}", query_words[end]):
            end += 1
        postcode = " ".join(query_words[index:end])
        if _centroid(url, version, postcode) is not None:
            return postcode, query_words[:index] + query_words[end:]
    return None, query_words


def _centroid(url: str, version: str, postcode: str) -> tuple[float, float] | None:
    """The mean position of the located addresses with this PC6, else with its PC4."""
    digits, letters = _POSTCODE.match(postcode).groups()
    centroids = _centroids(url, version)
    if letters and digits + letters.upper() in centroids:
        return centroids[digits + letters.upper()]
    return centroids.get(digits)


@lru_cache(maxsize=8)
def _centroids(url: str, version: str) -> dict[str, tuple[float, float]]:
    """PC6 ('3511AB') and PC4 ('3511') -> the mean position of the version's located addresses
    there; read once per version (which never changes) instead of scanning the addresses of
    every distance search."""
    sums: dict[str, list[float]] = {}
    with directory_engine(url).connect() as connection:
        rows = connection.execute(
            _statement(
                "SELECT upper(replace(a.postal_code, ' ', '')) AS code, sum(l.latitude) AS lat, "
                "sum(l.longitude) AS lon, count(*) AS n FROM address a JOIN location l "
                "ON l.id = a.location_id AND l.directory_version_id = a.directory_version_id "
                "WHERE a.directory_version_id = :v AND l.latitude IS NOT NULL "
                "AND l.longitude IS NOT NULL GROUP BY upper(replace(a.postal_code, ' ', ''))"
            ),
            {"v": version},
        )
        for row in rows:
            if not row.code or not _POSTCODE.match(row.code):
                continue
            for code in {row.code, row.code[:4]}:
                total = sums.setdefault(code, [0.0, 0.0, 0])
                total[0] += float(row.lat)
                total[1] += float(row.lon)
                total[2] += row.n
    return {code: (lat / n, lon / n) for code, (lat, lon, n) in sums.items()}


def _locate(url: str, version: str, postcode: str, radius_km: float, geocoder: PdokGeocoder | None) -> _Point:
    """The point to measure from: the directory's own centroid of the postcode, else (when a
    geocoder is set) the Locatieserver's."""
    centroid = _centroid(url, version, postcode)
    if centroid is None and geocoder is not None:
        digits, letters = _POSTCODE.match(postcode).groups()
        try:
            centroid = geocoder.locate(digits + (letters or "").upper())
        except GeocoderError as exc:
            raise InvalidQuery(
                f"near_postcode {postcode!r}: the directory has no located address with this postcode, "
                f"and the geocoder failed ({exc}); try again or give a nearby postcode"
            ) from exc
    if centroid is None:
        raise InvalidQuery(
            f"near_postcode {postcode!r}: the directory has no located address with this postcode "
            "or its first four digits; try a nearby postcode"
        )
    return _Point(centroid[0], centroid[1], radius_km)


class _Narrowing(NamedTuple):
    """One filter read from an index: the query of the ids that pass, the same filter as a
    test of one service `s`, (when cheaper) a query of about as many rows to count, and (when
    the full-text index has it as tags) the tags of which a passing service has one."""

    ids: str
    test: str
    count: str | None = None
    tags: tuple[str, ...] = ()


@dataclass
class _Filters:
    """A search's filters as SQL on `s`, the service table, that both backends share.

    A domain, facet, municipality or distance filter is kept twice: as a test of one service
    (to check a few ranked candidates) and as the query of the ids that pass, read from an
    index (so that the engine starts from the few services that pass a selective filter)."""

    params: dict
    conditions: list[str] = field(default_factory=list)
    narrowing: list[_Narrowing] = field(default_factory=list)
    # The keys of the services that pass (rowids on SQLite, ids on PostgreSQL), once read,
    # unless more than PREFILTER_MAX pass on PostgreSQL.
    passing: list | None = None
    many_pass: bool = False
    # Whether the filters that are tags are part of SQLite's full-text query (as a column filter).
    tagged_index: bool = False
    # How many versions the search index ranks together (see `_indexed_versions`).
    indexed_versions: int = 1
    # The tests on `s` that only version and status make, before any filter is added.
    base_conditions: int = 0

    def add(self, condition: str, **params: object) -> None:
        self.conditions.append(condition)
        self.params.update(params)

    @property
    def checks(self) -> str:
        """The filters as tests of each service: for candidates already found."""
        return " AND ".join([*self.conditions, *(n.test for n in self.narrowing)])

    def tags_query(self, postgres: bool) -> str | None:
        """The filters the full-text index holds as tags, as a query of its `tags` column
        (FTS5's on SQLite, a tsquery on PostgreSQL); None when there are none. Tags are only
        ever letters and digits (see `tag`), so they are quoted as they are."""
        tagged = [n.tags for n in self.narrowing if n.tags]
        if not tagged:
            return None
        if postgres:
            return " & ".join("(" + " | ".join(f"'{t}'" for t in tags) + ")" for tags in tagged)
        return " AND ".join("(" + " OR ".join(f'"{t}"' for t in tags) + ")" for tags in tagged)

    @property
    def beyond_index(self) -> bool:
        """Whether a filter remains that the full-text index does not apply itself."""
        return len(self.conditions) > self.base_conditions or bool(self.untagged)

    @property
    def untagged(self) -> list[_Narrowing]:
        """The filters read from indexes that the full-text query does not apply."""
        return [n for n in self.narrowing if not n.tags]

    @property
    def selecting(self) -> str:
        """The filters as sets of ids read from indexes: for finding the services that pass."""
        return " AND ".join([*self.conditions, *(f"s.id IN ({n.ids})" for n in self.narrowing)])


def _filters(
    connection: Connection,
    url: str,
    version: str,
    domains: list[str] | None,
    facets: dict[str, str | None],
    municipality: str | None,
    point: _Point | None,
    wanted: SearchFilters,
) -> _Filters:
    sqlite = connection.dialect.name == "sqlite"
    filters = _Filters(
        params={"version": version}, conditions=["s.directory_version_id = :version"], tagged_index=sqlite
    )
    if not wanted.include_inactive:
        filters.add("s.status = 'active'")
    filters.base_conditions = len(filters.conditions)
    if domains is not None:
        names = ", ".join(f":domain{i}" for i in range(len(domains))) or "NULL"
        filters.narrowing.append(
            _Narrowing(
                "SELECT d.service_id FROM service_domain d WHERE d.directory_version_id = :version "
                f"AND d.domain IN ({names})",
                "EXISTS (SELECT 1 FROM service_domain d "
                "WHERE d.directory_version_id = s.directory_version_id "
                f"AND d.service_id = s.id AND d.domain IN ({names}))",
                tags=tuple(tag("domain", d) for d in domains),
            )
        )
        filters.params.update({f"domain{i}": d for i, d in enumerate(domains)})
    for name, term in facets.items():
        if term is None:
            continue
        filters.narrowing.append(
            _Narrowing(
                "SELECT f.service_id FROM service_facet f WHERE f.directory_version_id = :version "
                f"AND f.taxonomy = :{name}_taxonomy AND f.term = :{name}",
                "EXISTS (SELECT 1 FROM service_facet f WHERE f.directory_version_id = s.directory_version_id "
                f"AND f.service_id = s.id AND f.taxonomy = :{name}_taxonomy AND f.term = :{name})",
                tags=(tag(name, term),),
            )
        )
        filters.params.update({name: term, f"{name}_taxonomy": FACET_FILTERS[name]})
    if municipality is not None:
        # The version's own spellings of the name, so the index on municipality is used; a
        # service without a municipality of its own is in the one of its address.
        key = municipality.strip().lower()
        municipality_names = [n for n in _municipalities(url, version) if n.lower() == key]
        names = ", ".join(f":municipality{i}" for i in range(len(municipality_names))) or "NULL"
        at_address = (
            "EXISTS (SELECT 1 FROM service_at_location ml JOIN address ma ON ma.location_id = ml.location_id "
            "AND ma.directory_version_id = ml.directory_version_id "
            "WHERE ml.directory_version_id = {s}.directory_version_id AND ml.service_id = {s}.id "
            "AND lower(coalesce(ma.municipality, ma.city)) = :municipality)"
        )
        filters.narrowing.append(
            _Narrowing(
                # One SELECT, not a UNION ALL of its two cases: PostgreSQL estimates a set
                # operation inside IN (...) at 200 rows whatever it holds, and a plan made for
                # 200 services of a municipality that has a third of them took 3-5x longer.
                "SELECT m.id FROM service m WHERE m.directory_version_id = :version "
                f"AND (m.municipality IN ({names}) "
                f"OR (m.municipality IS NULL AND {at_address.format(s='m')}))",
                f"(s.municipality IN ({names}) OR (s.municipality IS NULL AND {at_address.format(s='s')}))",
                tags=(tag("municipality", municipality),),
            )
        )
        filters.params["municipality"] = key
        filters.params.update({f"municipality{i}": n for i, n in enumerate(municipality_names)})
    if wanted.language is not None:
        filters.add("lower(s.language) = :language", language=wanted.language.lower())
    if point is not None:
        # An equirectangular distance: exact enough within a region, and plain arithmetic
        # that both backends compute without an extension; the bounding box around the
        # circle lets the index on positions find the candidates.
        within = (
            "l.directory_version_id = {version} "
            "AND l.latitude BETWEEN :lat_low AND :lat_high AND l.longitude BETWEEN :lon_low AND :lon_high "
            "AND ((l.latitude - :lat) * :km_lat) * ((l.latitude - :lat) * :km_lat) "
            "+ ((l.longitude - :lon) * :km_lon) * ((l.longitude - :lon) * :km_lon) <= :r2"
        )
        filters.narrowing.append(
            _Narrowing(
                "SELECT sl.service_id FROM location l JOIN service_at_location sl "
                "ON sl.location_id = l.id AND sl.directory_version_id = l.directory_version_id "
                f"WHERE {within.format(version=':version')}",
                "EXISTS (SELECT 1 FROM service_at_location sl JOIN location l ON l.id = sl.location_id "
                "AND l.directory_version_id = sl.directory_version_id "
                "WHERE sl.directory_version_id = s.directory_version_id AND sl.service_id = s.id "
                f"AND {within.format(version='sl.directory_version_id')})",
                # The locations in the bounding box, about one per service, from one index.
                "SELECT l.id FROM location l WHERE l.directory_version_id = :version "
                "AND l.latitude BETWEEN :lat_low AND :lat_high "
                "AND l.longitude BETWEEN :lon_low AND :lon_high",
            )
        )
        km_lon = KM_PER_DEGREE * math.cos(math.radians(point.latitude))
        filters.params.update(
            lat=point.latitude,
            lon=point.longitude,
            km_lat=KM_PER_DEGREE,
            km_lon=km_lon,
            r2=point.radius_km**2,
            lat_low=point.latitude - point.radius_km / KM_PER_DEGREE,
            lat_high=point.latitude + point.radius_km / KM_PER_DEGREE,
            lon_low=point.longitude - point.radius_km / km_lon,
            lon_high=point.longitude + point.radius_km / km_lon,
        )
    if wanted.open_at is not None:
        _open_filter(filters, wanted.open_at)
    if wanted.age is not None:
        _age_filter(filters, wanted.age)
    if wanted.organization_id is not None:
        filters.add("s.organization_id = :organization_id", organization_id=wanted.organization_id)
    if wanted.taxonomy_term_id is not None:
        filters.add(
            "EXISTS (SELECT 1 FROM attribute a WHERE a.directory_version_id = s.directory_version_id "
            "AND a.link_id = s.id AND a.taxonomy_term_id = :taxonomy_term_id)",
            taxonomy_term_id=wanted.taxonomy_term_id,
        )
    if wanted.modified_after is not None:
        # Bound as the column stores a moment (UTC; text on SQLite), so the comparison is exact.
        moment = UTCDateTime().bind_processor(connection.dialect)
        filters.add("s.last_modified > :modified_after", modified_after=moment(wanted.modified_after))
    return filters


def _few_pass(connection: Connection, filters: _Filters, among: list[_Narrowing] | None = None) -> bool:
    """Whether one of the filters read from an index (of `among`, by default all) passes at
    most PREFILTER_MAX services (and so do all filters together); each is counted no further
    than that, on its index."""
    for narrowing in filters.narrowing if among is None else among:
        passing = connection.execute(
            _statement(f"SELECT count(*) FROM ({narrowing.count or narrowing.ids} LIMIT :most) p"),
            {**filters.params, "most": PREFILTER_MAX + 1},
        ).scalar()
        if passing <= PREFILTER_MAX:
            return True
    return False


def _open_filter(filters: _Filters, moment: datetime) -> None:
    """Add: a weekly schedule row on the moment's weekday whose hours include its time, on
    Dutch clocks (a moment without a time zone is taken to be Dutch time already)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(AMSTERDAM)
    filters.add(
        "EXISTS (SELECT 1 FROM schedule h WHERE h.directory_version_id = s.directory_version_id "
        "AND h.service_id = s.id AND h.byday = :open_day "
        "AND h.opens_at <= :open_time AND h.closes_at > :open_time)",
        open_day=WEEKDAYS[moment.weekday()],
        open_time=moment.strftime("%H:%M"),
    )


@dataclass(frozen=True)
class AgeRange:
    """The ages an audience term is for: `minimum` up to, not including, `maximum` (None: no end)."""

    minimum: int
    maximum: int | None

    def admits(self, age: int) -> bool:
        return self.minimum <= age and (self.maximum is None or age < self.maximum)


class AudienceAgesError(ValueError):
    """The audience ages data names a term the taxonomy lacks, or has a range that is not one."""


@lru_cache(maxsize=1)
def audience_ages(path: Path = AUDIENCE_AGES) -> dict[str, AgeRange]:
    """The age range of each audience term that has one (see audience_ages.yaml)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    known = {term.id for term in load_taxonomy().terms(AUDIENCE_TAXONOMY)}
    ranges = {}
    for term, bounds in data.items():
        if term not in known:
            raise AudienceAgesError(f"{path}: {term!r} is not an audience term (known: {sorted(known)})")
        if not isinstance(bounds, dict) or set(bounds) - {"min", "max"} or "min" not in bounds:
            raise AudienceAgesError(
                f"{path}: {term}: {bounds!r}, expected {{min: age}} or {{min: age, max: age}}"
            )
        minimum, maximum = bounds["min"], bounds.get("max")
        if (
            not isinstance(minimum, int)
            or maximum is not None
            and (not isinstance(maximum, int) or maximum <= minimum)
        ):
            raise AudienceAgesError(
                f"{path}: {term}: min {minimum!r} and max {maximum!r} are not ages with min < max"
            )
        ranges[term] = AgeRange(minimum, maximum)
    return ranges


def _age_filter(filters: _Filters, age: int) -> None:
    """Add: no audience term with an age range, or one whose range admits `age`. A service for
    older people is not for a child; one for informal carers says nothing about age."""
    ranges = audience_ages()
    bounded = sorted(ranges)
    if not bounded:
        return
    admitting = [term for term in bounded if ranges[term].admits(age)]

    def audience_in(terms: list[str], prefix: str) -> str:
        names = ", ".join(f":{prefix}{i}" for i in range(len(terms)))
        return (
            "EXISTS (SELECT 1 FROM service_facet g WHERE g.directory_version_id = s.directory_version_id "
            f"AND g.service_id = s.id AND g.taxonomy = :age_taxonomy AND g.term IN ({names}))"
        )

    condition = f"NOT {audience_in(bounded, 'age_bounded')}"
    if admitting:
        condition = f"({condition} OR {audience_in(admitting, 'age_admits')})"
    filters.add(
        condition,
        age_taxonomy=AUDIENCE_TAXONOMY,
        **{f"age_bounded{i}": term for i, term in enumerate(bounded)},
        **{f"age_admits{i}": term for i, term in enumerate(admitting)},
    )


def _list(
    connection: Connection, filters: _Filters, limit: int, offset: int, few_pass: bool
) -> list[tuple[str, float]]:
    """`limit` services that pass, by name, after the first `offset`: read from the filters'
    indexes when few pass, else in name order (an index) until enough have passed."""
    where = filters.selecting if few_pass else filters.checks
    rows = connection.execute(
        _statement(
            f"SELECT s.id FROM service s WHERE {where} ORDER BY s.name, s.id LIMIT :limit OFFSET :offset"
        ),
        {**filters.params, "limit": limit, "offset": offset},
    )
    return [(row.id, 0.0) for row in rows]


def _count(connection: Connection, filters: _Filters, few_pass: bool) -> int:
    """How many services pass the filters. When many pass, the full-text index's tags find
    those that pass its filters (a domain, facet or municipality), as a search's query does,
    and only the others are tested: reading each filter's ids from its own index and
    matching them took 50-160 ms for 10,000-35,000 services on SQLite, the tags 10-20 ms."""
    where = filters.selecting if few_pass or filters.narrowing else filters.checks
    params = filters.params
    postgres = connection.dialect.name == "postgresql"
    tags = filters.tags_query(postgres)
    if not few_pass and tags is not None:
        if postgres:
            tagged = (
                f"s.id IN (SELECT service_id FROM {SEARCH_TABLE} WHERE directory_version_id = :version "
                f"AND {_PG_TAGGED})"
            )
        else:
            tagged = f"s.rowid IN (SELECT rowid FROM {SEARCH_TABLE} WHERE {SEARCH_TABLE} MATCH :tags)"
            tags = f"tags : ({tags})"
        where = " AND ".join([*filters.conditions, *(n.test for n in filters.untagged), tagged])
        params = {**params, "tags": tags}
    return connection.execute(_statement(f"SELECT count(*) FROM service s WHERE {where}"), params).scalar()


def _synonym_groups(
    url: str, version: str, synonyms: Sequence[Sequence[str]] | None
) -> list[list[list[str]]]:
    """Each group as its phrases, each phrase as its words."""
    if synonyms is None:
        return _stored_synonyms(url, version)
    return [[words(phrase) for phrase in group if words(phrase)] for group in synonyms]


@lru_cache(maxsize=8)
def _stored_synonyms(url: str, version: str) -> list[list[list[str]]]:
    """The synonym groups a version was published with, read once (a version never changes)."""
    table = SynonymGroup.__table__
    with directory_engine(url).connect() as connection:
        rows = connection.execute(
            table.select().where(table.c.directory_version_id == version).order_by(table.c.position)
        ).mappings()
        return [[words(phrase) for phrase in row["words"] if words(phrase)] for row in rows]


def _concepts(
    query_words: list[str], groups: list[list[list[str]]], vocabulary: _Vocabulary
) -> list[_Concept]:
    """The query as concepts, left to right: the longest synonym phrase at each word becomes
    its whole group; a stop word alone is dropped; a word the index cannot match is dropped."""
    concepts = []
    position = 0
    while position < len(query_words):
        length, matched = 1, []
        for group in groups:
            for candidate in group:
                if query_words[position : position + len(candidate)] != candidate:
                    continue
                if len(candidate) > length or not matched:
                    length, matched = len(candidate), [group]
                elif len(candidate) == length and group not in matched:
                    matched.append(group)
        phrase = query_words[position : position + length]
        position += length
        if matched:
            group_phrases = [p for group in matched for p in group]
        elif phrase[0] in STOP_WORDS:
            continue
        else:
            group_phrases = [phrase]
        alternatives = []
        for candidate in group_phrases:
            content = [w for w in candidate if w not in STOP_WORDS]
            terms = tuple(_index_term(w, vocabulary) for w in content)
            if content and all(terms) and terms not in alternatives:
                alternatives.append(terms)
        if alternatives:
            content = [w for w in phrase if w not in STOP_WORDS]
            typed = tuple(_index_term(w, vocabulary) for w in content)
            concepts.append(
                _Concept(
                    word=" ".join(phrase),
                    alternatives=_broadest(alternatives),
                    typed=typed if content and all(typed) else None,
                )
            )
    return concepts


def _broadest(alternatives: list[tuple[str, ...]]) -> tuple[tuple[str, ...], ...]:
    """The alternatives without those another one already covers: every term is searched as a
    prefix, so a service with 'schuldhulp' or with 'hulp' and 'huishoud' has 'schuld' and
    'huishoud'. The index then merges each word's matches once, not once per synonym that
    starts with it."""

    def covers(broad: tuple[str, ...], narrow: tuple[str, ...]) -> bool:
        return all(any(term.startswith(b) for term in narrow) for b in broad)

    kept: list[tuple[str, ...]] = []
    for at, alternative in enumerate(alternatives):
        others = alternatives[:at] + alternatives[at + 1 :]
        # Of two that cover each other (the same terms in another order) the first stays.
        if not any(covers(o, alternative) and (not covers(alternative, o) or o in kept) for o in others):
            kept.append(alternative)
    return tuple(kept)


def _match(
    connection: Connection,
    concepts: list[_Concept],
    vocabulary: _Vocabulary,
    filters: _Filters,
    limit: int,
    prefilter: bool,
) -> list[tuple[str, float]]:
    """Services with every concept first, by score. When they are fewer than `limit`, the
    services with one word as typed follow, the rarest word's first (a rare word says more about
    what is meant: 'eenzaam oudere' shows the services for the lonely before the many that
    mention older people), and then those with one concept's synonyms."""
    ranked = _run(connection, concepts, filters, limit, prefilter)
    if len(concepts) > 1:
        typed = [_Concept(word=c.word, alternatives=(c.typed,)) for c in concepts if c.typed]
        fills = sorted(typed, key=vocabulary.documents) + sorted(concepts, key=vocabulary.documents)
        searched = set()
        for concept in fills:
            if len(ranked) >= limit:
                break
            if concept.alternatives in searched:
                continue  # a word without synonyms is its own typed form: found nothing new
            searched.add(concept.alternatives)
            seen = {service_id for service_id, _ in ranked}
            rows = _run(connection, [concept], filters, limit, prefilter)
            ranked.extend(row for row in rows if row[0] not in seen)
    return ranked[:limit]


def _run(
    connection: Connection, concepts: list[_Concept], filters: _Filters, limit: int, prefilter: bool
) -> list[tuple[str, float]]:
    """The best `limit` services with every concept (a concept: any of its alternatives; an
    alternative: all of its terms), each term searched as a prefix. With `prefilter` only the
    matches that pass the filters are ranked; else the best matches are filtered."""
    expression = _expression(connection, concepts)
    postgres = connection.dialect.name == "postgresql"
    # The services whose name or organisation has every concept come first: a concept found
    # only further down (weights 2 and 1 against 10 and 4 on SQLite, 0.2 and 0.1 against 1
    # and 0.4 on PostgreSQL) scores far less. When enough of them pass, they are the hits,
    # and the many matches of a broad word ('geld', 'begeleiding') in descriptions are never
    # ranked. SQLite filters by column; PostgreSQL has those lexemes indexed apart.
    titled = expression if postgres else None
    if filters.tagged_index:
        titled = f"{{{' '.join(TITLE_COLUMNS)}}} : ({expression})"
        tags = filters.tags_query(postgres=False)
        if tags is not None:
            restricted = f"(tags : ({tags}))"
            titled = f"({titled}) AND {restricted}"
            expression = f"({expression}) AND {restricted}"
    if prefilter or filters.passing is not None:  # the passing services are known: rank those
        return _ranked_with_filters(connection, expression, filters, limit)
    per_hit = FIRST_CANDIDATES_CHECKED if filters.beyond_index else FIRST_CANDIDATES
    first = math.ceil(per_hit * limit * filters.indexed_versions)
    if titled is not None:
        ranked, _ = _best_passing(
            connection, titled, filters, min(first, CANDIDATE_CAP), limit, in_titles=postgres
        )
        if len(ranked) >= limit:
            return ranked
    cap = min(first, CANDIDATE_CAP)
    while True:
        ranked, full = _best_passing(connection, expression, filters, cap, limit)
        if len(ranked) >= limit or not full:
            return ranked
        # As few pass among the next best as among these: when CANDIDATE_CAP of them would
        # not hold `limit`, ranking that many is skipped for the exact ways below.
        if cap == CANDIDATE_CAP or len(ranked) * CANDIDATE_CAP < limit * cap:
            break
        cap = CANDIDATE_CAP
    matching = _matching(connection, expression, filters)
    if matching is not None:
        return _ranked_among(
            connection,
            expression,
            filters.params["version"],
            _passing_keys(connection, matching, filters),
            limit,
        )
    return _ranked_with_filters(connection, expression, filters, limit)


def _indexed_versions(connection: Connection, url: str, version: str) -> int:
    """How many versions the index ranks together: SQLite's holds every kept version (each
    service about once per version), PostgreSQL's query names its version."""
    if connection.dialect.name == "postgresql":
        return 1
    return _kept_versions(url, version)


@lru_cache(maxsize=8)
def _kept_versions(url: str, version: str) -> int:
    """The number of versions kept while `version` is current (a publish makes another current)."""
    with directory_engine(url).connect() as connection:
        return connection.execute(_statement("SELECT count(*) FROM directory_version")).scalar()


def _matching(connection: Connection, expression: str, filters: _Filters) -> list | None:
    """The keys of every match, unranked, when there are at most MATCHES_FIRST_MAX (else None):
    checking those against the filters costs less than reading every service that passes.
    (SQLite's `expression` holds the tags already; PostgreSQL's are matched here.)"""
    given = {"match": expression, "version": filters.params["version"], "most": MATCHES_FIRST_MAX + 1}
    if connection.dialect.name == "postgresql":
        tags, given["tags"] = _pg_tags(filters)
        sql = (
            f"SELECT service_id FROM {SEARCH_TABLE}, to_tsquery('simple', :match) query "
            f"WHERE directory_version_id = :version AND document @@ query{tags} LIMIT :most"
        )
    else:
        sql = f"SELECT rowid FROM {SEARCH_TABLE} WHERE {SEARCH_TABLE} MATCH :match LIMIT :most"
    keys = list(connection.execute(_statement(sql), given).scalars())
    return keys if len(keys) <= MATCHES_FIRST_MAX else None


# A PostgreSQL document has the tags of the tsquery bound as :tags (see `_Filters.tags_query`).
_PG_TAGGED = "tags @@ CAST(:tags AS tsquery)"
# The same test, written so that the planner cannot answer it from the tags' GIN index: a
# ranking statement tests it on each match instead. The statements are prepared, and their
# generic plans intersected every match with the index's services of those tags, whatever
# the words: 2 ms for a municipality and an audience at 100,000 services, where testing
# the few hundred matches of most searches takes a few microseconds each.
_PG_TAGS_PER_MATCH = "coalesce(tags, '') @@ CAST(:tags AS tsquery)"


def _pg_tags(filters: _Filters) -> tuple[str, str | None]:
    """The condition that a match has the filters' tags (empty when no filter is a tag), and
    the tsquery to bind as :tags: tested on the text's matches before any is ranked."""
    tags = filters.tags_query(postgres=True)
    if tags is None:
        return "", None
    return f" AND {_PG_TAGS_PER_MATCH}", tags


def _passing_keys(connection: Connection, keys: list, filters: _Filters) -> list:
    """The keys (rowids on SQLite, ids on PostgreSQL) of the services among `keys` that pass."""
    if not keys:
        return []
    # The service key: its id on PostgreSQL, its rowid (the index's own key) on SQLite.
    key = "s.id" if connection.dialect.name == "postgresql" else "s.rowid"
    condition, bound = one_of(connection.dialect.name, keys)
    return list(
        connection.execute(
            _statement(f"SELECT {key} FROM service s WHERE {filters.checks} AND {condition.format(key)}"),
            {**filters.params, "ids": bound},
        ).scalars()
    )


def _expression(connection: Connection, concepts: list[_Concept]) -> str:
    if connection.dialect.name == "postgresql":
        return " & ".join(
            "("
            + " | ".join("(" + " & ".join(_pg_prefix(t) for t in alt) + ")" for alt in c.alternatives)
            + ")"
            for c in concepts
        )
    return " AND ".join(
        "("
        + " OR ".join("(" + " AND ".join(_fts5_prefix(t) for t in alt) + ")" for alt in c.alternatives)
        + ")"
        for c in concepts
    )


def _best_passing(
    connection: Connection,
    expression: str,
    filters: _Filters,
    cap: int,
    limit: int,
    in_titles: bool = False,
) -> tuple[list[tuple[str, float]], bool]:
    """The best `cap` matches by the index's own score, ranked alone (no join; of the filters
    only those the index holds as tags), and of those the best `limit` that pass the filters,
    by score and then name; and whether the cap was reached. One statement: the engine's top
    `cap`, each joined to its service row (by rowid on SQLite, whose index ranks every kept
    version together) and tested. `in_titles` (PostgreSQL) matches names and organisations
    alone, ranked by whole documents."""
    given = {**filters.params, "match": expression, "cap": cap}
    if connection.dialect.name == "postgresql":
        matched = POSTGRES_TITLE if in_titles else "document"
        tags, given["tags"] = _pg_tags(filters)
        best = (
            f"SELECT service_id AS key, ts_rank('{POSTGRES_WEIGHTS}', document, query) AS score "
            f"FROM {SEARCH_TABLE}, to_tsquery('simple', :match) query "
            f"WHERE directory_version_id = :version AND {matched} @@ query{tags} "
            "ORDER BY score DESC LIMIT :cap"
        )
        join = "s.directory_version_id = :version AND s.id = c.key"
    else:
        weights = ", ".join(str(w) for w in SQLITE_WEIGHTS)
        best = (
            f"SELECT rowid AS key, -bm25({SEARCH_TABLE}, {weights}) AS score FROM {SEARCH_TABLE} "
            f"WHERE {SEARCH_TABLE} MATCH :match ORDER BY score DESC LIMIT :cap"
        )
        join = "s.rowid = c.key"
    sql = (
        f"SELECT s.id, s.name, c.score, CASE WHEN {filters.checks} THEN 1 ELSE 0 END AS passes "
        f"FROM ({best}) c LEFT JOIN service s ON {join}"
    )
    rows = connection.execute(_statement(sql), given).all()
    passing = sorted((-float(row.score), row.name, row.id) for row in rows if row.passes)
    return [(service_id, -negated) for negated, _, service_id in passing[:limit]], len(rows) == cap


def _ranked_with_filters(
    connection: Connection, expression: str, filters: _Filters, limit: int
) -> list[tuple[str, float]]:
    """The matches that pass the filters, ranked: for filters that few of the best matches pass.
    The passing services are read once per search (a search ranks for each of its concepts)
    and only the matches among them are ranked."""
    postgres = connection.dialect.name == "postgresql"
    if filters.passing is None and not filters.many_pass:
        # SQLite reads every passing rowid (a list of them is cheap to pass); PostgreSQL reads
        # at most PREFILTER_MAX ids and, when more pass, plans the join with the filters itself.
        key, most = ("s.id", "LIMIT :most") if postgres else ("s.rowid", "")
        passing = list(
            connection.execute(
                _statement(f"SELECT {key} FROM service s WHERE {filters.selecting} {most}"),
                {**filters.params, "most": PREFILTER_MAX + 1},
            ).scalars()
        )
        filters.many_pass = postgres and len(passing) > PREFILTER_MAX
        filters.passing = None if filters.many_pass else passing
    if filters.many_pass:
        sql = (
            f"SELECT s.id, ts_rank('{POSTGRES_WEIGHTS}', q.document, query) AS score "
            f"FROM {SEARCH_TABLE} q JOIN service s ON s.id = q.service_id "
            "AND s.directory_version_id = q.directory_version_id, to_tsquery('simple', :match) query "
            f"WHERE q.document @@ query AND {filters.selecting} "
            "ORDER BY score DESC, s.name, s.id LIMIT :limit"
        )
        rows = connection.execute(_statement(sql), {**filters.params, "match": expression, "limit": limit})
        return [(row.id, float(row.score)) for row in rows]
    return _ranked_among(connection, expression, filters.params["version"], filters.passing, limit)


def _ranked_among(
    connection: Connection, expression: str, version: str, keys: list, limit: int
) -> list[tuple[str, float]]:
    """The best `limit` matches among the services with these keys (SQLite rowids, or ids)."""
    if not keys:
        return []
    condition, bound = one_of(connection.dialect.name, keys)
    if connection.dialect.name == "postgresql":
        sql = (
            f"SELECT s.id, ts_rank('{POSTGRES_WEIGHTS}', q.document, query) AS score "
            f"FROM {SEARCH_TABLE} q JOIN service s ON s.id = q.service_id "
            "AND s.directory_version_id = q.directory_version_id, to_tsquery('simple', :match) query "
            f"WHERE q.directory_version_id = :version AND {condition.format('q.service_id')} "
            "AND q.document @@ query ORDER BY score DESC, s.name, s.id LIMIT :limit"
        )
    else:
        # The '+' keeps FTS5 from running the query once for each passing rowid.
        weights = ", ".join(str(w) for w in SQLITE_WEIGHTS)
        sql = (
            f"SELECT s.id, c.score FROM (SELECT rowid AS row, -bm25({SEARCH_TABLE}, {weights}) AS score "
            f"FROM {SEARCH_TABLE} WHERE {SEARCH_TABLE} MATCH :match "
            f"AND {condition.format('+rowid')} "
            "ORDER BY score DESC LIMIT :limit) c JOIN service s ON s.rowid = c.row "
            "ORDER BY c.score DESC, s.name, s.id"
        )
    rows = connection.execute(
        _statement(sql), {"match": expression, "version": version, "ids": bound, "limit": limit}
    )
    return [(row.id, float(row.score)) for row in rows]


@dataclass(frozen=True)
class _Vocabulary:
    """The index's terms, sorted, with the number of documents each occurs in."""

    terms: tuple[str, ...]
    counts: tuple[int, ...]
    _lists: dict[tuple[str, int], list[str]] = field(default_factory=dict, compare=False, repr=False)

    def of_length(self, length: int) -> list[str]:
        """The terms of exactly this length, for typo correction; worked out once per version."""
        key = ("of_length", length)
        if key not in self._lists:
            self._lists[key] = [v for v in self.terms if len(v) == length]
        return self._lists[key]

    def starts(self, length: int) -> list[str]:
        """The first `length` letters of every term at least that long."""
        key = ("starts", length)
        if key not in self._lists:
            self._lists[key] = sorted({v[:length] for v in self.terms if len(v) >= length})
        return self._lists[key]

    def documents(self, concept: _Concept) -> int:
        """About how many documents have the concept: its most common alternative's rarest term,
        counting every term the prefix matches."""
        return max(min(self._prefix_count(t) for t in alt) for alt in concept.alternatives)

    def _prefix_count(self, prefix: str) -> int:
        low = bisect.bisect_left(self.terms, prefix)
        high = bisect.bisect_left(self.terms, prefix + "\U0010ffff")
        return sum(self.counts[low:high])


@lru_cache(maxsize=8)
def _cached_vocabulary(url: str, version: str, postgres: bool) -> _Vocabulary:
    with directory_engine(url).connect() as connection:
        if postgres:
            sql = f"SELECT word, ndoc FROM ts_stat('SELECT document FROM {SEARCH_TABLE}') ORDER BY word"
        else:
            # Without the tags, which are no words anyone types.
            sql = (
                f"SELECT term, doc FROM {SQLITE_VOCABULARY} WHERE term NOT LIKE '{TAG_PREFIX}%' ORDER BY term"
            )
        rows = connection.execute(_statement(sql)).all()
    return _Vocabulary(terms=tuple(r[0] for r in rows), counts=tuple(int(r[1]) for r in rows))


def _vocabulary(connection: Connection, url: str, version: str) -> _Vocabulary:
    """The index's terms; read once per published version, which never changes."""
    return _cached_vocabulary(url, version, connection.dialect.name == "postgresql")


def _index_term(word: str, vocabulary: _Vocabulary) -> str | None:
    """The index term a query word stands for: its stem when the index has words starting
    with it, else the nearest term within TYPO_MAX_EDITS ('mantelzrog' -> 'mantelzorg'),
    else None (a word no service uses)."""
    term = stem(word)
    at = bisect.bisect_left(vocabulary.terms, term)
    if at < len(vocabulary.terms) and vocabulary.terms[at].startswith(term):
        return term
    if len(word) < TYPO_MIN_LENGTH:
        return None
    best: tuple[float, int, str] | None = None
    # A term may be longer than the word (a typo in 'mantelzorg' of 'mantelzorgondersteuning':
    # compare with the term's start, searched as a prefix) or shorter (the stem lost a suffix:
    # 'eenzaamhied' against 'eenzam'; each letter left over costs an eighth of an edit).
    for length in range(max(MIN_STEM, len(word) - MAX_SUFFIX), len(word) + 1):
        start = word[:length]
        candidates = vocabulary.of_length(length) if length < len(word) else vocabulary.starts(length)
        for candidate, distance, _ in process.extract(
            start, candidates, scorer=Levenshtein.distance, score_cutoff=TYPO_MAX_EDITS, limit=None
        ):
            cost = distance + (len(word) - length) / 8
            if distance <= TYPO_MAX_EDITS and (best is None or (cost, -length, candidate) < best):
                best = (cost, -length, candidate)
    return best[2] if best and best[0] <= TYPO_MAX_EDITS else None


def _fts5_prefix(term: str) -> str:
    """'"schuld"*': a quoted FTS5 string is only ever a word, never an operator."""
    return '"' + term.replace('"', '""') + '"*'


def _pg_prefix(term: str) -> str:
    """ "'schuld':*": a quoted tsquery lexeme is only ever a word, never an operator."""
    return "'" + term.replace("'", "''") + "':*"


@dataclass(frozen=True)
class _Shown:
    """What a hit shows of a service in one version: it never changes, so it is read once."""

    name: str
    organization: str | None
    municipality: str | None
    domains: tuple[tuple[str, str], ...]
    description: str | None
    phones: tuple[str, ...]
    address: str | None
    latitude: float | None
    longitude: float | None
    website: str | None
    status: str


_SHOWN: OrderedDict[tuple[str, str], _Shown] = OrderedDict()
_SHOWN_LOCK = threading.Lock()  # the API and the web page search from several threads


def _hits(connection: Connection, found: Ranking, explain: bool) -> list[SearchHit]:
    """The hits of a ranking, with what a result list shows of each service."""
    concepts = found.concepts if explain else None
    shown = _shown(connection, found.version, [service_id for service_id, _ in found.ranked])
    hits = []
    for service_id, score in found.ranked:
        s = shown[service_id]
        distance = None
        if found.point is not None and s.latitude is not None:
            distance = round(_distance_km(found.point, s.latitude, s.longitude), 2)
        explanation = None
        if concepts is not None:
            fields = {
                "name": s.name,
                "organization": s.organization,
                "domains": " ".join(name for _, name in s.domains),
                "description": s.description,
            }
            explanation = _explain(concepts, fields)
        hits.append(
            SearchHit(
                service_id=service_id,
                name=s.name,
                organization=s.organization,
                municipality=s.municipality,
                domains=[code for code, _ in s.domains],
                score=score,
                snippet=_snippet(s.description),
                description=s.description,
                phones=list(s.phones),
                address=s.address,
                website=s.website,
                status=s.status,
                distance_km=distance,
                explanation=explanation,
            )
        )
    return hits


def _shown(connection: Connection, version: str, service_ids: list[str]) -> dict[str, _Shown]:
    """What each hit shows, from the cache of the services shown before, else read."""
    with _SHOWN_LOCK:
        known = {i: _SHOWN[(version, i)] for i in service_ids if (version, i) in _SHOWN}
        for service_id in known:
            _SHOWN.move_to_end((version, service_id))
    missing = [i for i in service_ids if i not in known]
    if missing:
        read = _read_shown(connection, version, missing)
        with _SHOWN_LOCK:
            for service_id, value in read.items():
                _SHOWN[(version, service_id)] = value
            while len(_SHOWN) > SHOWN_CACHE:
                _SHOWN.popitem(last=False)
        known.update(read)
    return known


def _read_shown(connection: Connection, version: str, service_ids: list[str]) -> dict[str, _Shown]:
    condition, ids = one_of(connection.dialect.name, service_ids)
    bind = {"version": version, "ids": ids}
    services = {
        row.id: row
        for row in connection.execute(
            _statement(
                "SELECT s.id, s.name, s.description, s.municipality, s.url, s.status, o.name AS organization "
                "FROM service s LEFT JOIN organization o ON o.id = s.organization_id "
                "AND o.directory_version_id = s.directory_version_id "
                f"WHERE s.directory_version_id = :version AND {condition.format('s.id')}"
            ),
            bind,
        )
    }
    domains: dict[str, list[tuple[str, str]]] = {}
    for row in connection.execute(
        _statement(
            "SELECT d.service_id, d.domain, t.name FROM service_domain d LEFT JOIN taxonomy_term t "
            "ON t.directory_version_id = d.directory_version_id AND t.taxonomy = :domain_taxonomy "
            "AND t.code = d.domain WHERE d.directory_version_id = :version "
            f"AND {condition.format('d.service_id')} ORDER BY d.confidence DESC, d.domain"
        ),
        {**bind, "domain_taxonomy": DOMAIN_TAXONOMY},
    ):
        domains.setdefault(row.service_id, []).append((row.domain, row.name or ""))
    phones: dict[str, list[str]] = {}
    for row in connection.execute(
        _statement(
            "SELECT service_id, number FROM phone WHERE directory_version_id = :version "
            f"AND {condition.format('service_id')} ORDER BY position"
        ),
        bind,
    ):
        phones.setdefault(row.service_id, []).append(row.number)
    addresses = {
        row.service_id: row
        for row in connection.execute(
            _statement(
                "SELECT sl.service_id, a.address_1, a.postal_code, a.city, l.latitude, l.longitude "
                "FROM service_at_location sl JOIN location l ON l.id = sl.location_id "
                "AND l.directory_version_id = sl.directory_version_id "
                "LEFT JOIN address a ON a.location_id = sl.location_id "
                "AND a.directory_version_id = sl.directory_version_id "
                f"WHERE sl.directory_version_id = :version AND {condition.format('sl.service_id')}"
            ),
            bind,
        )
    }
    shown = {}
    for service_id, s in services.items():
        a = addresses.get(service_id)
        address = None
        if a is not None and a.address_1 is not None:
            place = " ".join(p for p in (a.postal_code, a.city) if p)
            address = ", ".join(p for p in (a.address_1, place) if p)
        shown[service_id] = _Shown(
            name=s.name,
            organization=s.organization,
            municipality=s.municipality,
            domains=tuple(domains.get(service_id, [])),
            description=s.description,
            phones=tuple(phones.get(service_id, [])),
            address=address,
            latitude=a.latitude if a is not None else None,
            longitude=a.longitude if a is not None else None,
            website=s.url,
            status=s.status,
        )
    return shown


def _distance_km(point: _Point, latitude: float, longitude: float) -> float:
    """Great-circle distance (haversine), for the hit; the filter uses a flat approximation."""
    lat1, lon1, lat2, lon2 = map(math.radians, (point.latitude, point.longitude, latitude, longitude))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def _explain(concepts: list[_Concept], fields: dict[str, str | None]) -> list[TermMatch]:
    """Per query concept and index term, the fields with a word that contains that term (as a
    compound's tail, say) or whose stem starts with it: the terms are stems ('eenzaam' is
    searched as 'eenzam')."""
    field_words = {name: [(w, stem(w)) for w in words(value)] for name, value in fields.items()}
    matches = []
    for concept in concepts:
        for alternative in concept.alternatives:
            for term in alternative:
                where = [
                    name
                    for name, found in field_words.items()
                    if any(term in w or s.startswith(term) for w, s in found)
                ]
                if where:
                    matches.append(TermMatch(word=concept.word, term=term, fields=where))
    return matches


def _snippet(description: str | None) -> str | None:
    """The description's start, cut at a word: enough for a result list."""
    if not description or len(description) <= SNIPPET_LENGTH:
        return description
    return description[:SNIPPET_LENGTH].rsplit(" ", 1)[0] + "…"
