import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import event, text

from servicemap.publish import (
    PublishError,
    RollbackError,
    ServiceNotFound,
    current_version,
    engine_for,
    list_versions,
    publish_directory,
    published_membership,
    read_service,
    read_services,
    rollback,
)
from servicemap.publish.db import SQLITE_MMAP_BYTES, request_engine
from servicemap.publish.rows import search_document
from servicemap.publish.search_index import POSTGRES_TAGS, index_rows
from servicemap.publish.tables import _NAMESPACE, stable_id
from servicemap.records import ClassifiedService, Rejection
from servicemap.search import search

SECOND_RUN = datetime(2026, 3, 9, 4, 0, tzinfo=UTC)
THIRD_RUN = datetime(2026, 3, 16, 4, 0, tzinfo=UTC)


def as_published(service: ClassifiedService) -> dict:
    """The golden-record fields, labels in a fixed order, for comparing a round trip."""
    data = ClassifiedService.model_validate(service.model_dump(include=set(ClassifiedService.model_fields)))
    data.labels.sort(key=lambda label: (label.taxonomy, label.term))
    return data.model_dump()


def by_name(services) -> dict:
    return {s.name: s for s in services}


def test_publish_then_read_back_gives_the_services_as_published(db_url, demo_services):
    version = publish_directory(db_url, demo_services, [], run_id="run-1")

    assert version.is_current and version.run_id == "run-1"
    assert (version.services, version.organizations, version.source_records) == (6, 4, 6)
    published = by_name(read_services(db_url))
    assert {name: as_published(s) for name, s in published.items()} == {
        s.name: as_published(s) for s in demo_services
    }
    assert {s.status for s in published.values()} == {"active"}
    assert current_version(db_url) == version


def test_rejections_are_published_with_their_reason(db_url, demo_services):
    rejection = Rejection(
        record_id="lindeloo-sociaal:contact",
        source_id="lindeloo-sociaal",
        url="https://www.lindeloo.example.nl/contact",
        stage="validate",
        reason="no service name",
        raw={"service_name": None, "phones": ["0300-000000"]},
    )
    version = publish_directory(db_url, demo_services, [rejection], run_id="run-1")

    assert version.rejected == 1
    with engine_for(db_url).connect() as connection:
        row = connection.execute(
            text("SELECT record_id, stage, reason, raw FROM rejected_record WHERE directory_version_id = :v"),
            {"v": version.id},
        ).one()
    assert row.record_id == "lindeloo-sociaal:contact"
    assert (row.stage, row.reason) == ("validate", "no service name")
    assert "0300-000000" in str(row.raw)


def test_second_publish_becomes_current_and_keeps_the_first(db_url, demo_services):
    first = publish_directory(db_url, demo_services, [], run_id="run-1")
    renamed = [
        s.model_copy(update={"name": "Schuldhulp Brederwijk"}) if s.name == "Schuldhulpverlening" else s
        for s in demo_services
    ]
    second = publish_directory(db_url, renamed, [], run_id="run-2", now=SECOND_RUN)

    assert current_version(db_url).id == second.id
    assert [(v.run_id, v.is_current) for v in list_versions(db_url)] == [("run-2", True), ("run-1", False)]
    assert "Schuldhulp Brederwijk" in by_name(read_services(db_url))
    assert "Schuldhulpverlening" in by_name(read_services(db_url, first.id))


def test_rollback_makes_the_previous_version_current_for_readers_and_search(db_url, demo_services):
    first = publish_directory(db_url, demo_services, [], run_id="run-1")
    renamed = [
        s.model_copy(update={"name": "Schuldhulp Brederwijk"}) if s.name == "Schuldhulpverlening" else s
        for s in demo_services
    ]
    publish_directory(db_url, renamed, [], run_id="run-2", now=SECOND_RUN)

    restored = rollback(db_url)

    assert restored.id == first.id and current_version(db_url).id == first.id
    assert "Schuldhulpverlening" in by_name(read_services(db_url))
    assert search(db_url, "schuldhulp")[0].name == "Schuldhulpverlening"


def test_rollback_without_an_older_version_says_so(db_url, demo_services):
    only = publish_directory(db_url, demo_services, [], run_id="run-1")

    with pytest.raises(RollbackError, match="'run-1'.* is the oldest kept"):
        rollback(db_url)
    assert current_version(db_url).id == only.id


@pytest.mark.parametrize(
    "break_run",
    [
        pytest.param(
            lambda services: [*services, services[0].model_copy(update={"name": ""})], id="empty-name"
        ),
        pytest.param(lambda services: [*services, services[2].model_copy()], id="duplicate-id"),
    ],
)
def test_failed_publish_leaves_the_last_good_version_current_and_whole(db_url, demo_services, break_run):
    good = publish_directory(db_url, demo_services, [], run_id="run-1")

    with pytest.raises(
        PublishError, match="run 'run-2' could not be published.*current version is unchanged"
    ):
        publish_directory(db_url, break_run(demo_services), [], run_id="run-2", now=SECOND_RUN)

    assert [v.id for v in list_versions(db_url)] == [good.id]
    assert current_version(db_url) == good
    assert {s.name: as_published(s) for s in read_services(db_url)} == {
        s.name: as_published(s) for s in demo_services
    }
    assert [h.name for h in search(db_url, "mantelzorg")] == ["Steunpunt Mantelzorg"]


def test_a_service_that_comes_back_is_active_again(db_url, demo_services):
    publish_directory(db_url, demo_services, [], run_id="run-1")
    publish_directory(db_url, demo_services[:-1], [], run_id="run-2", now=SECOND_RUN)

    publish_directory(db_url, demo_services, [], run_id="run-3", now=THIRD_RUN)

    spreekuur = by_name(read_services(db_url))["Juridisch Spreekuur"]
    assert (spreekuur.status, spreekuur.inactive_since) == ("active", None)


def test_versions_beyond_the_kept_number_are_pruned(db_url, demo_services):
    first = publish_directory(db_url, demo_services, [], run_id="run-1", keep_versions=2)
    publish_directory(db_url, demo_services, [], run_id="run-2", keep_versions=2, now=SECOND_RUN)
    publish_directory(db_url, demo_services, [], run_id="run-3", keep_versions=2, now=THIRD_RUN)

    assert [v.run_id for v in list_versions(db_url)] == ["run-3", "run-2"]
    with engine_for(db_url).connect() as connection:
        left = connection.execute(
            text("SELECT count(*) FROM service WHERE directory_version_id = :v"), {"v": first.id}
        ).scalar()
    assert left == 0


def test_ids_of_unchanged_objects_are_stable_across_runs(db_url, demo_services):
    first = publish_directory(db_url, demo_services, [], run_id="run-1")
    second = publish_directory(db_url, list(reversed(demo_services)), [], run_id="run-2", now=SECOND_RUN)

    def ids(version_id):
        return {
            s.id: (s.organization_id, s.location_id, s.phone_ids) for s in read_services(db_url, version_id)
        }

    assert ids(first.id) == ids(second.id)
    assert {s.id for s in demo_services} == set(ids(second.id))


def test_a_service_id_that_is_not_a_uuid_is_refused_before_writing(db_url, demo_services):
    bad = demo_services[0].model_copy(update={"id": "cluster-17"})

    with pytest.raises(PublishError, match="service 'Schuldhulpverlening': id 'cluster-17' is not a UUID"):
        publish_directory(db_url, [bad], [], run_id="run-1")
    assert list_versions(db_url) == []


def test_one_service_reads_back_with_its_labels_and_sources(published_db, demo_services):
    wanted = demo_services[0]

    service = read_service(published_db, wanted.id)

    assert as_published(service) == as_published(wanted)
    with pytest.raises(ServiceNotFound, match="no service with id 'f00'"):
        read_service(published_db, "f00")


def test_published_membership_lists_each_services_records_for_stable_ids(db_url, demo_services):
    assert published_membership(db_url) == {}

    publish_directory(db_url, demo_services, [], run_id="run-1")

    assert published_membership(db_url) == {s.id: [m.record_id for m in s.members] for s in demo_services}


def test_bulk_rows_get_the_column_defaults_and_utc_times_insert_would_give(db_url, demo_services):
    version = publish_directory(db_url, demo_services, [], run_id="run-1", now=SECOND_RUN)

    with engine_for(db_url).connect() as connection:
        countries = connection.execute(
            text("SELECT DISTINCT country FROM address WHERE directory_version_id = :v"), {"v": version.id}
        ).scalars()
        assert list(countries) == ["NL"]
    service = read_services(db_url)[0]
    assert service.first_seen == SECOND_RUN and service.first_seen.tzinfo is not None


def test_stable_ids_are_the_uuid5_of_their_content():
    key = "\x1f".join(["taxonomy_term", "life_domain", "finances"])

    assert stable_id("taxonomy_term", "life_domain", "finances") == str(uuid.uuid5(_NAMESPACE, key))
    assert stable_id("address", None, "Cliëntstraat 1") == str(
        uuid.uuid5(_NAMESPACE, "address\x1f\x1fCliëntstraat 1")
    )


def test_every_service_is_indexed_once_with_each_text_at_its_weight_and_its_tags(db_url, demo_services):
    if not db_url.startswith("postgresql"):
        pytest.skip("PostgreSQL's index is a weighted tsvector per service; SQLite's is FTS5")
    # The same organisation and description in two places: their vectors are built once, for both.
    twin = demo_services[0].model_copy(update={"id": str(uuid.uuid4()), "name": "Inloop Lindeveen-Oost"})
    services = [*demo_services, twin]
    version = publish_directory(db_url, services, [], run_id="run-1")

    expected = index_rows("postgresql", version.id, [search_document(s) for s in services])
    weighted = " || ".join(
        f"setweight(to_tsvector('dutch', :{field}), '{weight}')"
        for field, weight in (("name", "A"), ("organization", "B"), ("domains", "C"), ("description", "D"))
    )
    stored = text(
        f"SELECT document = {weighted} AND tags = {POSTGRES_TAGS.format(tags=':tags')} FROM service_search "
        "WHERE directory_version_id = :v AND service_id = :s"
    )
    with engine_for(db_url).connect() as connection:
        for name, organization, domains, description, tags, service_id, _version in expected:
            assert tags  # every demo service has a municipality and a domain
            texts = {
                "name": name,
                "organization": organization,
                "domains": domains,
                "description": description,
            }
            given = {"v": version.id, "s": service_id, "tags": tags, **texts}
            same = connection.execute(stored, given).scalars().all()
            assert same == [True], (service_id, name)
    assert [h.name for h in search(db_url, "Lindeveen-Oost")] == ["Inloop Lindeveen-Oost"]


def test_a_sqlite_publish_syncs_at_checkpoint_and_gives_back_a_fully_durable_connection(
    tmp_path, demo_services
):
    url = f"sqlite:///{tmp_path / 'directory.db'}"
    engine = engine_for(url)
    during = []

    def safety_level(connection, cursor, statement, *_):
        if statement.startswith("INSERT INTO service "):
            during.append(connection.connection.driver_connection.execute("PRAGMA synchronous").fetchone()[0])

    event.listen(engine, "before_cursor_execute", safety_level)
    try:
        publish_directory(url, demo_services, [], run_id="run-1")
    finally:
        event.remove(engine, "before_cursor_execute", safety_level)
    with engine.connect() as connection:  # the pool's connection the publish gave back
        driver = connection.connection.driver_connection
        after = [driver.execute(f"PRAGMA {name}").fetchone()[0] for name in ("synchronous", "cache_size")]
    assert during and set(during) == {1}  # NORMAL
    assert after == [2, -2000]  # SQLite's defaults (FULL, 2 MB) for the problem reports written later


def test_every_sqlite_connection_of_a_directory_reads_through_a_memory_map(tmp_path):
    url = f"sqlite:///{tmp_path / 'directory.db'}"
    for engine in (engine_for(url), request_engine(url)):
        with engine.connect() as connection:
            mapped = connection.connection.driver_connection.execute("PRAGMA mmap_size").fetchone()[0]
        assert mapped == SQLITE_MMAP_BYTES
