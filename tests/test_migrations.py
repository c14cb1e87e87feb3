"""The schema is created and upgraded by the Alembic migrations: a directory published under
an older revision is upgraded in place and reads back intact, on SQLite and PostgreSQL."""

from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, select, text

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
    old.reflect(engine_for(url), only=names)
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

    assert schema_revision(empty_url) == head_revision() == "0004"
    with engine_for(empty_url).connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={"include_name": is_directory_object, "compare_type": True, "version_table": VERSION_TABLE},
        )
        assert compare_metadata(context, DIRECTORY_METADATA) == []


@pytest.mark.parametrize("stamped", [True, False], ids=["at-0001", "before-alembic"])
def test_a_directory_published_at_revision_1_is_upgraded_and_reads_back_intact(
    empty_url, demo_services, tmp_path, stamped
):
    old_version = publish_at_revision_1(empty_url, demo_services, tmp_path, stamped=stamped)
    assert schema_revision(empty_url) == ("0001" if stamped else None)

    migrate(empty_url)

    assert schema_revision(empty_url) == "0004"
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
