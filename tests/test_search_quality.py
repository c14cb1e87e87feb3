"""The search quality set over the demo region: a GP's and a social worker's queries must show
the services they mean in the first five hits, on SQLite and on PostgreSQL."""

import os
from collections.abc import Iterator

import psycopg
import pytest

from servicemap.classify import load_taxonomy
from servicemap.evaluation import load_ground_truth
from servicemap.publish import engine_for, publish_directory, read_services
from servicemap.search.quality import (
    QualityQuery,
    SearchQueriesError,
    evaluate_search,
    load_search_queries,
)

RECALL_BAR = 0.95
POSTGRES_SERVER = "postgresql://postgres@127.0.0.1:5432/test"
# A database of its own, so the fixtures that drop the directory in 'test' cannot race this one.
POSTGRES_QUALITY_DB = "search_quality"


def test_the_quality_set_is_large_and_names_real_services():
    queries = load_search_queries()
    truth = {s["id"] for s in load_ground_truth()["services"]}

    assert len(queries) >= 40
    assert {e for q in queries for e in q.expect} <= truth
    assert any(q.filters.municipality for q in queries)
    assert any(q.filters.near_postcode for q in queries)


def test_a_quality_file_with_an_unknown_filter_says_which(tmp_path):
    path = tmp_path / "queries.yaml"
    path.write_text("queries:\n  - query: schuldhulp\n    filters: {city: Aldermeer}\n    expect: [a031]\n")

    with pytest.raises(SearchQueriesError, match=r"queries\[0\]: filters.city"):
        load_search_queries(path)


def _assert_bar(database_url: str) -> None:
    quality = evaluate_search(database_url, load_search_queries(), load_ground_truth())
    missed = [q for q in quality.queries if q.recall < 1]
    assert quality.recall_at_5 >= RECALL_BAR, quality.table()
    assert len(missed) <= len(quality.queries) * (1 - RECALL_BAR), quality.table()


@pytest.mark.slow
def test_recall_at_5_on_sqlite(demo_run):
    _, settings, _ = demo_run

    _assert_bar(settings.database_url)


def _postgres(statement: str) -> None:
    with psycopg.connect(POSTGRES_SERVER, autocommit=True, connect_timeout=2) as connection:
        connection.execute(statement)


@pytest.fixture
def postgres_quality_url() -> Iterator[str]:
    try:
        _postgres(f"DROP DATABASE IF EXISTS {POSTGRES_QUALITY_DB} WITH (FORCE)")
        _postgres(f"CREATE DATABASE {POSTGRES_QUALITY_DB}")
    except psycopg.OperationalError as error:
        message = f"PostgreSQL does not answer at {POSTGRES_SERVER}: {error}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{POSTGRES_QUALITY_DB}"
    yield url
    engine_for(url).dispose()
    _postgres(f"DROP DATABASE IF EXISTS {POSTGRES_QUALITY_DB} WITH (FORCE)")


@pytest.mark.slow
def test_recall_at_5_on_postgresql(demo_run, postgres_quality_url):
    _, settings, _ = demo_run
    services = read_services(settings.database_url)
    publish_directory(
        postgres_quality_url, services, [], run_id="search-quality", synonyms=load_taxonomy().synonyms
    )

    _assert_bar(postgres_quality_url)


@pytest.mark.slow
def test_a_query_that_misses_counts_against_recall(demo_run):
    _, settings, _ = demo_run
    # A taalcafé is not debt help: expecting it for 'schuldhulp' must lower the recall.
    wrong = [QualityQuery(query="schuldhulp", expect=["b017"])]

    quality = evaluate_search(settings.database_url, wrong, load_ground_truth())

    assert quality.recall_at_5 == 0.0
    assert quality.queries[0].found == []
