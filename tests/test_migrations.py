"""The schema is created and upgraded by the Alembic migrations: a directory published under
an older revision is upgraded in place and reads back intact, on SQLite and PostgreSQL."""

import json
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, inspect, select, text

from servicemap.publish import (
    DIRECTORY_TABLES,
    current_version,
    engine_for,
    head_revision,
    migrate,
    publish_directory,
    read_services,
    schema_revision,
)
from servicemap.publish.schema import DIRECTORY_METADATA, VERSION_TABLE, is_directory_object
from servicemap.publish.search_index import POSTGRES_TITLE
from servicemap.records import ClassifiedService
from servicemap.search import search
from tests.conftest import FETCHED_AT, _drop_directory

FIRST_RUN = datetime(2026, 2, 23, 4, 0, tzinfo=UTC)
SECOND_RUN = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)


@pytest.fixture
def empty_url(db_url: str, tmp_path) -> str:
    """A database without any directory tables, as a fresh one is."""
    if db_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'empty.db'}"
    _drop_directory(db_url)
    return db_url


def as_published(service: ClassifiedService) -> dict:
    data = ClassifiedService.model_validate(service.model_dump(include=set(ClassifiedService.model_fields)))
    data.labels.sort(key=lambda label: (label.taxonomy, label.term))
    return data.model_dump()


def publish_at_revision_1(url: str, services, tmp_path, *, stamped: bool):
    """A directory as the code of revision 0001 left it: its tables, and one published version
    copied into them column by column (a scratch SQLite database does the publishing)."""
    scratch = f"sqlite:///{tmp_path / 'scratch.db'}"
    version = publish_directory(scratch, services, [], run_id="run-before-upgrade", now=FIRST_RUN)
    migrate(url, "0001")
    old = MetaData()
    names = [t.name for t in DIRECTORY_TABLES if t.name != VERSION_TABLE]
    old.reflect(engine_for(url), only=lambda name, _: name in names)  # the tables 0001 had
    with engine_for(scratch).connect() as source, engine_for(url).begin() as target:
        for table in old.sorted_tables:
            current = DIRECTORY_METADATA.tables[table.name]
            rows = source.execute(select(*(current.c[c.name] for c in table.c))).mappings().all()
            if rows:
                target.execute(table.insert(), [dict(r) for r in rows])
        if not stamped:  # created by create_all before the migrations existed
            target.exec_driver_sql(f"DROP TABLE {VERSION_TABLE}")
    engine_for(scratch).dispose()
    return version


def test_an_empty_database_is_created_at_the_newest_revision_matching_the_tables(empty_url):
    migrate(empty_url)

    assert schema_revision(empty_url) == head_revision() == "0011"
    assert schema_differences(empty_url) == []


def schema_differences(url: str) -> list:
    """What differs between the database's directory tables and the models: columns, types, indexes."""
    with engine_for(url).connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={"include_name": is_directory_object, "compare_type": True, "version_table": VERSION_TABLE},
        )
        return compare_metadata(context, DIRECTORY_METADATA)


@pytest.mark.parametrize("stamped", [True, False], ids=["at-0001", "before-alembic"])
def test_a_directory_published_at_revision_1_is_upgraded_and_reads_back_intact(
    empty_url, demo_services, tmp_path, stamped
):
    old_version = publish_at_revision_1(empty_url, demo_services, tmp_path, stamped=stamped)
    assert schema_revision(empty_url) == ("0001" if stamped else None)

    migrate(empty_url)

    assert schema_revision(empty_url) == "0011"
    assert current_version(empty_url) == old_version
    services = read_services(empty_url, old_version.id)
    assert {s.name: as_published(s) for s in services} == {s.name: as_published(s) for s in demo_services}
    # the dates the old rows imply: first published (and so last changed) then, crawled before
    assert {(s.first_seen, s.last_changed, s.last_seen, s.inactive_runs) for s in services} == {
        (FIRST_RUN, FIRST_RUN, FETCHED_AT, 0)
    }


def test_after_the_upgrade_a_new_publish_compares_with_the_old_version(empty_url, demo_services, tmp_path):
    old_version = publish_at_revision_1(empty_url, demo_services, tmp_path, stamped=True)
    changed = [
        s.model_copy(update={"description": "Nu ook op zaterdag."}) if s.name == "Steunpunt Mantelzorg" else s
        for s in demo_services[:-1]
    ]
    migrate(empty_url)

    new_version = publish_directory(empty_url, changed, [], run_id="run-after-upgrade", now=SECOND_RUN)

    services = {s.name: s for s in read_services(empty_url)}
    assert services["Steunpunt Mantelzorg"].last_changed == SECOND_RUN
    assert services["Schuldhulpverlening"].last_changed == FIRST_RUN
    assert (services["Juridisch Spreekuur"].status, new_version.inactive_services) == ("inactive", 1)
    assert [h.name for h in search(empty_url, "mantelzorg")] == ["Steunpunt Mantelzorg"]
    assert {s.name for s in read_services(empty_url, old_version.id)} == {s.name for s in demo_services}


def test_migrating_twice_changes_nothing(db_url, demo_services):
    version = publish_directory(db_url, demo_services, [], run_id="run-1")

    migrate(db_url)

    assert schema_revision(db_url) == head_revision()
    assert current_version(db_url) == version
    with engine_for(db_url).connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM service")).scalar() == len(demo_services)


def test_revision_5_keys_an_older_sqlite_search_index_by_service_row(tmp_path, demo_services):
    url = f"sqlite:///{tmp_path / 'indexed.db'}"
    publish_directory(url, demo_services, [], run_id="run-1")
    columns = "name, organization, domains, description, service_id, directory_version_id"
    with engine_for(url).begin() as connection:
        # The index as revision 4 wrote it: rowids of its own, not those of the service rows.
        connection.exec_driver_sql(
            f"CREATE TEMPORARY TABLE indexed AS SELECT rowid AS r, {columns} FROM service_search"
        )
        connection.exec_driver_sql("DELETE FROM service_search")
        connection.exec_driver_sql(
            f"INSERT INTO service_search (rowid, {columns}) SELECT r + 1000, {columns} FROM indexed"
        )
        for index in (
            "ix_service_version_municipality",
            "ix_service_version_name",
            "ix_location_version_position",
            "ix_service_location_version_location",
            "ix_service_domain_version_domain",
            "ix_service_facet_version_term",
        ):
            connection.exec_driver_sql(f"DROP INDEX {index}")
        connection.exec_driver_sql(f"UPDATE {VERSION_TABLE} SET version_num = '0004'")

    migrate(url)

    assert schema_revision(url) == head_revision()
    # A filtered search matches the index against the passing services' rows by rowid.
    hits = search(url, "mantelzorg", domain="family_and_caregiving")
    assert [h.name for h in hits] == ["Steunpunt Mantelzorg"]


def test_revision_6_tags_an_older_sqlite_search_index_with_what_each_service_is(tmp_path, demo_services):
    url = f"sqlite:///{tmp_path / 'untagged.db'}"
    demo_services[-1].language = "en"
    publish_directory(url, demo_services, [], run_id="run-1")
    publish_directory(url, demo_services[:-1], [], run_id="run-2")  # the last one inactive
    columns = "name, organization, domains, description, service_id, directory_version_id"
    with engine_for(url).begin() as connection:
        # The index as revision 5 left it: no tags column.
        connection.exec_driver_sql(
            f"CREATE TEMPORARY TABLE indexed AS SELECT rowid AS r, {columns} FROM service_search"
        )
        connection.exec_driver_sql("DROP TABLE service_search_vocabulary")
        connection.exec_driver_sql("DROP TABLE service_search")
        connection.exec_driver_sql(
            "CREATE VIRTUAL TABLE service_search USING fts5(name, organization, domains, description, "
            "service_id UNINDEXED, directory_version_id UNINDEXED, prefix='3 5')"
        )
        connection.exec_driver_sql(
            "CREATE VIRTUAL TABLE service_search_vocabulary USING fts5vocab(service_search, 'row')"
        )
        connection.exec_driver_sql(
            f"INSERT INTO service_search (rowid, {columns}) SELECT r, {columns} FROM indexed"
        )
        connection.exec_driver_sql(f"UPDATE {VERSION_TABLE} SET version_num = '0005'")

    migrate(url)

    assert schema_revision(url) == head_revision()
    # Filters the index now applies itself: version, status, domain, audience, municipality.
    assert [h.name for h in search(url, "mantelzorg", domain="family_and_caregiving")] == [
        "Steunpunt Mantelzorg"
    ]
    assert [h.name for h in search(url, "wonen", municipality="brederwijk")] == ["Wijkteam Brederwijk-Noord"]
    assert [h.name for h in search(url, "vrijwilliger", audience="elderly")] == [
        "Maatjesproject Samen Op Pad"
    ]
    assert search(url, "vrijwilliger", audience="caregivers") == []
    assert search(url, "huur") == []  # only in the inactive service
    assert [h.name for h in search(url, "huur", include_inactive=True)] == ["Juridisch Spreekuur"]
    with engine_for(url).connect() as connection:
        tags = connection.exec_driver_sql("SELECT count(*) FROM service_search WHERE tags IS NULL").scalar()
    assert tags == 0


REKEYED = {
    "attribute": "link_id",
    "phone": "service_id",
    "schedule": "service_id",
    "service_at_location": "service_id",
    "address": "location_id",
}


def test_revision_7_keys_tables_by_their_parent_and_keeps_every_row(empty_url, demo_services, tmp_path):
    old_version = publish_at_revision_1(empty_url, demo_services, tmp_path, stamped=True)
    migrate(empty_url, "0006")
    counted = "SELECT count(*) FROM {}"
    with engine_for(empty_url).connect() as connection:
        before = {table: connection.execute(text(counted.format(table))).scalar() for table in REKEYED}
    assert min(before.values()) > 0

    migrate(empty_url)

    inspector = inspect(engine_for(empty_url))
    keys = {table: inspector.get_pk_constraint(table)["constrained_columns"] for table in REKEYED}
    assert keys == {table: ["directory_version_id", parent, "id"] for table, parent in REKEYED.items()}
    indexed = {table: [i["column_names"] for i in inspector.get_indexes(table)] for table in REKEYED}
    assert all([parent] not in indexed[table] for table, parent in REKEYED.items()), indexed
    assert "ix_service_municipality" not in {i["name"] for i in inspector.get_indexes("service")}
    assert schema_differences(empty_url) == []  # the other indexes kept, as the models declare them
    with engine_for(empty_url).connect() as connection:
        after = {table: connection.execute(text(counted.format(table))).scalar() for table in REKEYED}
    assert after == before
    services = read_services(empty_url, old_version.id)
    assert {s.name: as_published(s) for s in services} == {s.name: as_published(s) for s in demo_services}
    # The old version's rows and the next publish's share the tables under the new keys.
    publish_directory(empty_url, demo_services, [], run_id="run-after-rekey", now=SECOND_RUN)
    assert {s.name for s in read_services(empty_url)} == {s.name for s in demo_services}


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_revision_8_indexes_the_name_lexemes_a_postgresql_search_looks_in_first(empty_url, demo_services):
    migrate(empty_url)
    publish_directory(empty_url, demo_services, [], run_id="run-before-titles")
    with engine_for(empty_url).begin() as connection:  # back to what revision 7 left
        connection.exec_driver_sql("DROP INDEX service_search_title")
        connection.exec_driver_sql(f"UPDATE {VERSION_TABLE} SET version_num = '0007'")
    named_so = f"SELECT service_id FROM service_search WHERE {POSTGRES_TITLE} @@ to_tsquery('simple', :q)"

    migrate(empty_url)

    with engine_for(empty_url).connect() as connection:
        connection.exec_driver_sql("SET enable_seqscan = off")  # a few rows: the planner would scan them
        plan = "\n".join(connection.execute(text(f"EXPLAIN {named_so}"), {"q": "schuld:*"}).scalars())
        named = connection.execute(text(named_so), {"q": "schuld:*"}).scalars().all()
    assert "service_search_title" in plan
    # Names and organisations alone: 'Thuisadministratie' has schuldhulp in its description only.
    assert len(named) == 1
    assert search(empty_url, "schuldhulp", limit=1)[0].name == "Schuldhulpverlening"


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_revision_9_tags_an_older_postgresql_search_index_with_what_each_service_is(empty_url, demo_services):
    migrate(empty_url)
    demo_services[-1].language = "en"
    publish_directory(empty_url, demo_services, [], run_id="run-1")
    publish_directory(empty_url, demo_services[:-1], [], run_id="run-2")  # the last one inactive
    with engine_for(empty_url).begin() as connection:  # back to what revision 8 left
        connection.exec_driver_sql("DROP INDEX service_search_tags")
        connection.exec_driver_sql("ALTER TABLE service_search DROP COLUMN tags")
        connection.exec_driver_sql(f"UPDATE {VERSION_TABLE} SET version_num = '0008'")
    tagged = "SELECT count(*) FROM service_search WHERE tags @@ CAST(:tag AS tsquery)"

    migrate(empty_url)

    assert schema_revision(empty_url) == head_revision()
    with engine_for(empty_url).connect() as connection:
        untagged = connection.exec_driver_sql("SELECT count(*) FROM service_search WHERE tags = ''").scalar()
        # Both versions' documents: the first holds the service that is inactive in the second.
        in_brederwijk = connection.execute(text(tagged), {"tag": "'0x0mbrederwijk'"}).scalar()
    assert untagged == 0
    assert in_brederwijk == 2 * len([s for s in demo_services if s.municipality == "Brederwijk"]) - (
        demo_services[-1].municipality == "Brederwijk"
    )
    # The filters a search now finds by the tags: domain, audience, municipality, status.
    assert [h.name for h in search(empty_url, "mantelzorg", domain="family_and_caregiving")] == [
        "Steunpunt Mantelzorg"
    ]
    assert [h.name for h in search(empty_url, "wonen", municipality="brederwijk")] == [
        "Wijkteam Brederwijk-Noord"
    ]
    assert [h.name for h in search(empty_url, "vrijwilliger", audience="elderly")] == [
        "Maatjesproject Samen Op Pad"
    ]
    assert search(empty_url, "vrijwilliger", audience="caregivers") == []
    assert [h.name for h in search(empty_url, "huur", include_inactive=True)] == ["Juridisch Spreekuur"]


@pytest.mark.parametrize(
    ("revision", "undo"),
    [
        ("0009", "DROP TABLE service_document"),
        ("0010", "ALTER TABLE service_document DROP COLUMN listing"),
    ],
    ids=["documents-from-rows", "listings-from-bodies"],
)
def test_revisions_10_and_11_store_each_published_services_document_and_listing(
    empty_url, demo_services, revision, undo
):
    migrate(empty_url)
    publish_directory(empty_url, demo_services, [], run_id="run-1")
    publish_directory(empty_url, demo_services[:-1], [], run_id="run-2")  # the last one inactive
    stored = "SELECT directory_version_id, service_id, body, listing FROM service_document ORDER BY 1, 2"
    with engine_for(empty_url).begin() as connection:
        published = connection.exec_driver_sql(stored).all()
        connection.exec_driver_sql(undo)  # back to what `revision` left
        connection.exec_driver_sql(f"UPDATE {VERSION_TABLE} SET version_num = '{revision}'")

    migrate(empty_url)

    assert schema_revision(empty_url) == head_revision()
    assert schema_differences(empty_url) == []
    with engine_for(empty_url).connect() as connection:
        migrated = connection.exec_driver_sql(stored).all()
    assert len(published) == 2 * len(demo_services)
    assert migrated == published
    listing = json.loads(migrated[0].listing)
    assert listing["id"] == migrated[0].service_id and "phones" not in listing
