"""Search the current directory: one interface, FTS5 on SQLite and `tsvector` on PostgreSQL.

A query never reaches the search engine as written: it is cut into words, each word is
reduced to its stem, widened with its synonyms, corrected when the index has no such word,
and only then quoted into the engine's syntax. So 'schuld* OR "' or 'NEAR(' search for
words, they do not raise or change the query.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, Field
from rapidfuzz.distance import Levenshtein
from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

from servicemap.publish.rows import DOMAIN_TAXONOMY
from servicemap.publish.search_index import SEARCH_TABLE, SQLITE_VOCABULARY
from servicemap.publish.tables import SynonymGroup
from servicemap.publish.text import stem, words
from servicemap.publish.versions import NoDirectoryPublished, directory_engine

MAX_QUERY_LENGTH = 200
MAX_LIMIT = 100
AUDIENCE_TAXONOMY = "audience"
# A typo is corrected only in a word this long, and only by this many edits: shorter words
# have too many neighbours ('zorg' is one edit from 'borg').
TYPO_MIN_LENGTH = 6
TYPO_MAX_EDITS = 2
# bm25 column weights, in the index's column order: name, organization, domains, description.
SQLITE_WEIGHTS = (10.0, 4.0, 2.0, 1.0)
# ts_rank_cd weights in PostgreSQL's order: D (description), C (domains), B (organization), A (name).
POSTGRES_WEIGHTS = "{0.1, 0.2, 0.4, 1.0}"
SNIPPET_LENGTH = 160


class InvalidQuery(ValueError):
    """A search that cannot be run as asked; the message says what to change."""


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


def search(
    url: str,
    query: str,
    *,
    domain: str | None = None,
    municipality: str | None = None,
    audience: str | None = None,
    limit: int = 10,
    synonyms: Sequence[Sequence[str]] | None = None,
    include_inactive: bool = False,
) -> list[SearchHit]:
    """Services of the current directory that match `query`, best first.

    An empty query with a filter lists the services that pass the filter, by name.
    `synonyms` replaces the groups stored at publish time, e.g. [["eenzaam", "alleen"]].
    """
    query = query.strip()
    _check(query, domain, municipality, audience, limit)
    engine = directory_engine(url)
    with engine.connect() as connection:
        version = connection.execute(text("SELECT id FROM directory_version WHERE is_current")).scalar()
        if version is None:
            shown = make_url(url).render_as_string(hide_password=True)
            raise NoDirectoryPublished(f"no directory has been published to {shown!r} yet")
        if domain is not None:
            _check_term(connection, version, DOMAIN_TAXONOMY, domain, "domain")
        if audience is not None:
            _check_term(connection, version, AUDIENCE_TAXONOMY, audience, "audience")
        filters, params = _filters(version, domain, municipality, audience, include_inactive)
        if not query:
            ranked = _list(connection, filters, params, limit)
        else:
            groups = _synonym_groups(connection, version, synonyms)
            ranked = _match(connection, words(query), groups, filters, params, limit)
        return _hits(connection, version, ranked)


def _check(
    query: str, domain: str | None, municipality: str | None, audience: str | None, limit: int
) -> None:
    if len(query) > MAX_QUERY_LENGTH:
        raise InvalidQuery(
            f"the query is {len(query)} characters long; at most {MAX_QUERY_LENGTH} are searched"
        )
    if query and not words(query):
        raise InvalidQuery(f"the query {query!r} has no words to search for (letters or digits)")
    if not query and domain is None and municipality is None and audience is None:
        raise InvalidQuery("give words to search for, or a domain, municipality or audience to list")
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidQuery(f"limit={limit}: expected 1 to {MAX_LIMIT}")


def _check_term(connection: Connection, version: str, taxonomy: str, term: str, what: str) -> None:
    known = connection.execute(
        text(
            "SELECT code FROM taxonomy_term WHERE directory_version_id = :v AND taxonomy = :t ORDER BY code"
        ),
        {"v": version, "t": taxonomy},
    ).scalars()
    known = list(known)
    if term not in known:
        raise InvalidQuery(f"{what} {term!r} is not a term of the published {taxonomy!r} taxonomy ({known})")


def _filters(
    version: str, domain: str | None, municipality: str | None, audience: str | None, include_inactive: bool
) -> tuple[str, dict]:
    """SQL conditions on `s` (the service table) that both backends share."""
    conditions = ["s.directory_version_id = :version"]
    params: dict[str, object] = {"version": version}
    if not include_inactive:
        conditions.append("s.status = 'active'")
    if domain is not None:
        conditions.append(
            "EXISTS (SELECT 1 FROM service_domain d WHERE d.directory_version_id = s.directory_version_id "
            "AND d.service_id = s.id AND d.domain = :domain)"
        )
        params["domain"] = domain
    if audience is not None:
        conditions.append(
            "EXISTS (SELECT 1 FROM service_facet f WHERE f.directory_version_id = s.directory_version_id "
            "AND f.service_id = s.id AND f.taxonomy = :audience_taxonomy AND f.term = :audience)"
        )
        params.update(audience=audience, audience_taxonomy=AUDIENCE_TAXONOMY)
    if municipality is not None:
        conditions.append("lower(s.municipality) = lower(:municipality)")
        params["municipality"] = municipality.strip()
    return " AND ".join(conditions), params


def _list(connection: Connection, filters: str, params: dict, limit: int) -> list[tuple[str, float]]:
    rows = connection.execute(
        text(f"SELECT s.id FROM service s WHERE {filters} ORDER BY s.name, s.id LIMIT :limit"),
        {**params, "limit": limit},
    )
    return [(row.id, 0.0) for row in rows]


def _synonym_groups(
    connection: Connection, version: str, synonyms: Sequence[Sequence[str]] | None
) -> list[set[str]]:
    if synonyms is None:
        table = SynonymGroup.__table__
        synonyms = connection.execute(
            table.select().where(table.c.directory_version_id == version).order_by(table.c.position)
        ).mappings()
        synonyms = [row["words"] for row in synonyms]
    return [{w for phrase in group for w in words(phrase)} for group in synonyms]


def _match(
    connection: Connection,
    query_words: list[str],
    groups: list[set[str]],
    filters: str,
    params: dict,
    limit: int,
) -> list[tuple[str, float]]:
    """All words must match; when nothing does, any word may (so 'hulp bij schulden' finds
    services that never write 'bij')."""
    postgres = connection.dialect.name == "postgresql"
    vocabulary = _vocabulary(connection)
    alternatives = []
    for word in query_words:
        candidates = {word}.union(*(g for g in groups if word in g))
        stems = {s for c in sorted(candidates) if (s := _index_term(connection, c, vocabulary))}
        if stems:
            alternatives.append(sorted(stems))
    if not alternatives:
        return []
    for operator in ("&", "|") if len(alternatives) > 1 else ("&",):
        if postgres:
            expression = f" {operator} ".join(
                "(" + " | ".join(_pg_prefix(s) for s in group) + ")" for group in alternatives
            )
            sql = (
                f"SELECT s.id, ts_rank_cd('{POSTGRES_WEIGHTS}', q.document, "
                "to_tsquery('simple', :match)) AS score "
                f"FROM {SEARCH_TABLE} q JOIN service s ON s.id = q.service_id "
                "AND s.directory_version_id = q.directory_version_id "
                f"WHERE q.document @@ to_tsquery('simple', :match) AND {filters} "
                "ORDER BY score DESC, s.name LIMIT :limit"
            )
        else:
            joiner = " AND " if operator == "&" else " OR "
            expression = joiner.join(
                "(" + " OR ".join(_fts5_prefix(s) for s in group) + ")" for group in alternatives
            )
            weights = ", ".join(str(w) for w in SQLITE_WEIGHTS)
            sql = (
                f"SELECT s.id, -bm25({SEARCH_TABLE}, {weights}) AS score "
                f"FROM {SEARCH_TABLE} q JOIN service s ON s.id = q.service_id "
                "AND s.directory_version_id = q.directory_version_id "
                f"WHERE {SEARCH_TABLE} MATCH :match AND {filters} "
                "ORDER BY score DESC, s.name LIMIT :limit"
            )
        rows = connection.execute(text(sql), {**params, "match": expression, "limit": limit}).all()
        if rows:
            return [(row.id, float(row.score)) for row in rows]
    return []


def _vocabulary(connection: Connection) -> list[str]:
    """Every term in the index (all kept versions: a term of an older one does no harm)."""
    if connection.dialect.name == "postgresql":
        sql = f"SELECT word FROM ts_stat('SELECT document FROM {SEARCH_TABLE}')"
    else:
        sql = f"SELECT term FROM {SQLITE_VOCABULARY}"
    return list(connection.execute(text(sql)).scalars())


def _index_term(connection: Connection, word: str, vocabulary: list[str]) -> str | None:
    """The index term a query word stands for: its stem when the index has words starting
    with it, else the nearest term within TYPO_MAX_EDITS ('mantelzrog' -> 'mantelzorg'),
    else None (a stop word, or a word no service uses)."""
    if connection.dialect.name == "postgresql":
        lexemes = connection.execute(text("SELECT ts_lexize('dutch_stem', :w)"), {"w": word}).scalar()
        if not lexemes:
            return None
        term = lexemes[0]
    else:
        term = stem(word)
    if any(v.startswith(term) for v in vocabulary):
        return term
    if len(word) < TYPO_MIN_LENGTH:
        return None
    best: tuple[int, str] | None = None
    for candidate in vocabulary:
        # Compare with the whole term and with its start, so a typo in 'mantelzorg' also
        # finds 'mantelzorgondersteuning' (the start is then searched as a prefix).
        start = candidate[: len(word)]
        distance = min(
            Levenshtein.distance(word, candidate, score_cutoff=TYPO_MAX_EDITS + 1),
            Levenshtein.distance(word, start, score_cutoff=TYPO_MAX_EDITS + 1),
        )
        if distance <= TYPO_MAX_EDITS and (best is None or (distance, start) < best):
            best = (distance, start)
    return best[1] if best else None


def _fts5_prefix(term: str) -> str:
    """'"schuld"*': a quoted FTS5 string is only ever a word, never an operator."""
    return '"' + term.replace('"', '""') + '"*'


def _pg_prefix(term: str) -> str:
    """ "'schuld':*": a quoted tsquery lexeme is only ever a word, never an operator."""
    return "'" + term.replace("'", "''") + "':*"


def _hits(connection: Connection, version: str, ranked: list[tuple[str, float]]) -> list[SearchHit]:
    if not ranked:
        return []
    ids = [service_id for service_id, _ in ranked]
    bind = {"version": version, **{f"id{i}": service_id for i, service_id in enumerate(ids)}}
    in_ids = ", ".join(f":id{i}" for i in range(len(ids)))
    services = {
        row.id: row
        for row in connection.execute(
            text(
                "SELECT s.id, s.name, s.description, s.municipality, s.url, s.status, o.name AS organization "
                "FROM service s LEFT JOIN organization o ON o.id = s.organization_id "
                "AND o.directory_version_id = s.directory_version_id "
                f"WHERE s.directory_version_id = :version AND s.id IN ({in_ids})"
            ),
            bind,
        )
    }
    domains: dict[str, list[str]] = {}
    for row in connection.execute(
        text(
            "SELECT service_id, domain FROM service_domain WHERE directory_version_id = :version "
            f"AND service_id IN ({in_ids}) ORDER BY confidence DESC, domain"
        ),
        bind,
    ):
        domains.setdefault(row.service_id, []).append(row.domain)
    phones: dict[str, list[str]] = {}
    for row in connection.execute(
        text(
            "SELECT service_id, number FROM phone WHERE directory_version_id = :version "
            f"AND service_id IN ({in_ids}) ORDER BY position"
        ),
        bind,
    ):
        phones.setdefault(row.service_id, []).append(row.number)
    addresses = {
        row.service_id: row
        for row in connection.execute(
            text(
                "SELECT l.service_id, a.address_1, a.postal_code, a.city FROM service_at_location l "
                "JOIN address a ON a.location_id = l.location_id "
                "AND a.directory_version_id = l.directory_version_id "
                f"WHERE l.directory_version_id = :version AND l.service_id IN ({in_ids})"
            ),
            bind,
        )
    }
    hits = []
    for service_id, score in ranked:
        s = services[service_id]
        a = addresses.get(service_id)
        place = " ".join(p for p in (a.postal_code, a.city) if p) if a else ""
        hits.append(
            SearchHit(
                service_id=service_id,
                name=s.name,
                organization=s.organization,
                municipality=s.municipality,
                domains=domains.get(service_id, []),
                score=score,
                snippet=_snippet(s.description),
                description=s.description,
                phones=phones.get(service_id, []),
                address=", ".join(p for p in (a.address_1, place) if p) if a else None,
                website=s.url,
                status=s.status,
            )
        )
    return hits


def _snippet(description: str | None) -> str | None:
    """The description's start, cut at a word: enough for a result list."""
    if not description or len(description) <= SNIPPET_LENGTH:
        return description
    return description[:SNIPPET_LENGTH].rsplit(" ", 1)[0] + "…"
