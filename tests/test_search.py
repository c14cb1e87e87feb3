from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import pytest
from sqlalchemy import event, text

from servicemap.publish import NoDirectoryPublished, engine_for, publish_directory, read_service, rollback
from servicemap.publish.db import reading
from servicemap.search import InvalidQuery, SearchFilters, rank, search


def names(hits) -> list[str]:
    return [h.name for h in hits]


@contextmanager
def statements_run(url: str) -> Iterator[list[tuple[str, str]]]:
    """Each statement run on `url`'s engine meanwhile, with its parameters."""
    run: list[tuple[str, str]] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        run.append((statement, repr(parameters)))

    engine = engine_for(url)
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield run
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_a_name_match_ranks_first(published_db):
    hits = search(published_db, "schuldhulp")

    # 'Thuisadministratie' mentions schuldhulp in its description only.
    assert names(hits) == ["Schuldhulpverlening", "Thuisadministratie"]
    assert hits[0].score > hits[1].score
    # Enough services named so to fill the hits: only those are ranked.
    assert names(search(published_db, "schuldhulp", limit=1)) == ["Schuldhulpverlening"]


def test_a_hit_carries_what_a_professional_needs_to_refer(published_db):
    [hit] = search(published_db, "mantelzorg")

    assert hit.organization == "Welzijn Lindeloo"
    assert hit.municipality == "Lindeloo"
    assert hit.domains == ["family_and_caregiving"]
    assert hit.phones == ["+31300000103"]
    assert hit.address == "Dorpsplein 3, 9998 BB Lindeloo"
    assert hit.website == "https://www.lindeloo.example.nl/steunpunt-mantelzorg"
    assert hit.snippet.startswith("Informatie, advies en respijtzorg")


def test_a_dutch_inflection_finds_the_stem_and_its_compounds(published_db):
    # 'schulden' -> stem 'schuld', which starts 'Schuldhulpverlening'.
    assert names(search(published_db, "schulden"))[0] == "Schuldhulpverlening"
    assert names(search(published_db, "mantelzorgers")) == ["Steunpunt Mantelzorg"]


def test_a_typo_is_corrected_to_the_nearest_indexed_word(published_db):
    assert names(search(published_db, "mantelzrog")) == ["Steunpunt Mantelzorg"]
    assert names(search(published_db, "schuldhlup")) == ["Schuldhulpverlening", "Thuisadministratie"]


def test_a_short_word_is_not_guessed(published_db):
    # 'borg' is two edits from 'zorg', but four letters are too few to correct safely.
    assert search(published_db, "borg") == []


def test_synonyms_from_the_publish_widen_a_query(published_db):
    # Only 'eenzaam' is written on the page; the taxonomy says 'alleen' means the same.
    assert names(search(published_db, "alleen")) == ["Maatjesproject Samen Op Pad"]
    assert search(published_db, "alleen", synonyms=[]) == []
    assert names(search(published_db, "eenzaamheid", synonyms=[["eenzaamheid", "eenzaam"]])) == [
        "Maatjesproject Samen Op Pad"
    ]


def test_filters_by_domain_municipality_and_audience(published_db):
    assert names(search(published_db, "", domain="finances")) == ["Schuldhulpverlening", "Thuisadministratie"]
    # 'vrijwillig' is in one service in Lindeloo and one in Brederwijk.
    assert set(names(search(published_db, "vrijwillig"))) == {
        "Maatjesproject Samen Op Pad",
        "Thuisadministratie",
    }
    assert names(search(published_db, "vrijwillig", municipality="brederwijk")) == ["Thuisadministratie"]
    assert names(search(published_db, "", audience="caregivers")) == ["Steunpunt Mantelzorg"]
    assert names(search(published_db, "zorg", domain="housing", municipality="Brederwijk")) == [
        "Wijkteam Brederwijk-Noord"
    ]


def test_an_empty_query_with_a_filter_lists_services_by_name(published_db):
    assert names(search(published_db, "  ", municipality="Lindeloo")) == [
        "Juridisch Spreekuur",
        "Maatjesproject Samen Op Pad",
        "Steunpunt Mantelzorg",
    ]
    assert len(search(published_db, "", municipality="Lindeloo", limit=2)) == 2


def test_a_list_is_counted_only_for_a_caller_that_asks(published_db):
    """Counting reads every service that passes: in a large directory many times the cost of
    the page. The API's list pages show the count; a search shows its hits alone."""
    lindeloo = SearchFilters(municipality="Lindeloo")
    with reading(engine_for(published_db)) as connection:
        page = rank(connection, published_db, "", lindeloo, limit=2)
        counted = rank(connection, published_db, "", lindeloo, limit=2, counted=True)
    assert page.ranked == counted.ranked and len(page.ranked) == 2
    assert (page.total, counted.total) == (None, 3)

    with statements_run(published_db) as run:
        # Its one word names a municipality: a list of the services there.
        assert names(search(published_db, "Lindeloo", limit=2)) == names(
            search(published_db, "", municipality="Lindeloo", limit=2)
        )
    # Counts up to a bound (which choose how to read the page) are cheap; no count is whole.
    whole_counts = [s for s, _ in run if "count(" in s.lower() and "limit" not in s.lower()]
    assert not whole_counts


@pytest.mark.parametrize("query", ["mantelzorg respijt", "schulden formulieren", "eenzaam oudere Lindeloo"])
def test_a_search_ranks_each_full_text_query_once(published_db, query):
    """When the services with every word are too few, those with one word follow, its typed
    form and then its synonyms: for a word without synonyms the two are one query, run once."""
    with statements_run(published_db) as run:
        search(published_db, query, limit=10)
    ranked = [(sql, given) for sql, given in run if "bm25(" in sql or "ts_rank" in sql]
    assert ranked
    assert len(ranked) == len(set(ranked)), ranked


@pytest.mark.parametrize(
    "query",
    [
        'schuld* OR "',
        "NEAR(",
        "NEAR(schuld zorg, 2)",
        'wonen" AND',
        "-zorg",
        "^schuld",
        "name: zorg",
        "'; DROP TABLE service; --",
        "zorg & !wonen | (geld",
        "schuld:* <-> zorg",
    ],
)
def test_search_syntax_in_a_query_is_searched_as_words(published_db, query):
    search(published_db, query)

    assert names(search(published_db, "", domain="finances")) == ["Schuldhulpverlening", "Thuisadministratie"]


def test_search_operators_do_not_change_what_is_found(published_db):
    assert names(search(published_db, 'schuld* OR "')) == names(search(published_db, "schuld"))


@pytest.mark.parametrize(
    ("query", "filters", "message"),
    [
        ("", {}, "give words to search for, or a domain"),
        ("?!* ()", {}, "has no words to search for"),
        ("schuld " * 40, {}, "at most 200 are searched"),
        (
            "schuld",
            {"domain": "money"},
            "domain 'money' is not a term of the published 'life_domain' taxonomy",
        ),
        ("", {"audience": "students"}, "audience 'students' is not a term"),
        ("schuld", {"limit": 0}, "limit=0: expected 1 to 100"),
    ],
)
def test_a_bad_query_says_what_to_change(published_db, query, filters, message):
    with pytest.raises(InvalidQuery, match=message):
        search(published_db, query, **filters)


def test_an_unknown_domain_lists_the_known_ones(published_db):
    with pytest.raises(InvalidQuery, match="'finances'"):
        search(published_db, "", domain="financien")


def test_search_before_any_publish_says_so(db_url):
    with pytest.raises(NoDirectoryPublished, match="no directory has been published"):
        search(db_url, "schuld")


def test_hits_show_the_current_version_after_a_publish_and_a_rollback(db_url, demo_services):
    publish_directory(db_url, demo_services, [], run_id="run-1")
    before = search(db_url, "schuldhulp")[0]
    changed = [
        s.model_copy(update={"description": "Nu ook op zaterdag: hulp bij schulden."})
        if s.name == "Schuldhulpverlening"
        else s
        for s in demo_services
    ]
    publish_directory(db_url, changed, [], run_id="run-2")

    after = search(db_url, "schuldhulp")[0]
    rollback(db_url)

    assert (before.name, after.name) == ("Schuldhulpverlening", "Schuldhulpverlening")
    assert after.description == "Nu ook op zaterdag: hulp bij schulden."
    assert search(db_url, "schuldhulp")[0].description == before.description


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_search_runs_prepared_statements_once_a_connection_has_seen_them(published_db):
    """psycopg forgets a connection's prepared statements when it rolls back, as closing a
    connection in a transaction does: reads end by committing instead, so a search is not
    planned anew each time, here between the reads of the web page's result cards."""
    for _ in range(20):
        for hit in search(published_db, "schuldhulp", limit=5):
            read_service(published_db, hit.service_id)
    engine = engine_for(published_db)
    with ExitStack() as stack:
        pooled = [stack.enter_context(engine.connect()) for _ in range(engine.pool.checkedin())]
        listed = text("SELECT statement FROM pg_prepared_statements")
        prepared = [statement for connection in pooled for statement in connection.execute(listed).scalars()]
    assert any("ts_rank(" in statement for statement in prepared), prepared
