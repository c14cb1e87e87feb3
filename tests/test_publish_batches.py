"""A publish larger than one write batch: its rows reach the database in batches while the
next ones are built (on PostgreSQL beside it), and the publish is still one version."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from servicemap.publish import PublishError, current_version, engine_for, publish_directory, read_services
from servicemap.publish.versions import _WRITE_BATCH
from servicemap.records import ClassifiedService
from servicemap.search import search
from tests.conftest import build_service

ORGANIZATIONS = ["Stichting Welzijn Aldermeer", "Buurtteam Lindeveen", "Vrijwilligerscentrale Brederwijk"]


def many_services(count: int) -> list[ClassifiedService]:
    """`count` services of three organisations: more than one batch shares each organisation."""
    return [
        build_service(
            f"Inloopspreekuur {n}",
            ORGANIZATIONS[n % 3],
            "Lindeveen",
            "Een vrijwilliger helpt met post en formulieren.",
            ["finances"],
            ["elderly"],
            house_number=str(n % 200 + 1),
            phone=f"+3130{n:07d}",
        )
        for n in range(count)
    ]


@pytest.fixture(scope="module")
def services() -> list[ClassifiedService]:
    return many_services(_WRITE_BATCH + 7)


def rows(url: str, table: str, version_id: str) -> int:
    with engine_for(url).connect() as connection:
        query = text(f"SELECT count(*) FROM {table} WHERE directory_version_id = :v")
        return connection.execute(query, {"v": version_id}).scalar()


def test_a_publish_of_several_batches_is_one_whole_version(db_url, services):
    version = publish_directory(db_url, services, [], run_id="many")

    assert version.services == len(services) == len(read_services(db_url))
    # An organisation's row is written with the first batch that has it, once.
    assert rows(db_url, "organization", version.id) == version.organizations == 3
    assert rows(db_url, "service_search", version.id) == len(services)
    [hit] = search(db_url, f"Inloopspreekuur {len(services) - 1}", limit=1)
    assert hit.name == f"Inloopspreekuur {len(services) - 1}"


def test_a_batch_that_fails_after_others_were_written_leaves_the_last_version(db_url, services):
    good = publish_directory(db_url, services[:10], [], run_id="good")
    # The first batch writes a service; the last, written after it, repeats its id.
    clash = services[-1].model_copy(update={"id": services[0].id})

    with pytest.raises(PublishError, match="run 'clash' could not be published"):
        publish_directory(db_url, [*services[:-1], clash], [], run_id="clash")

    assert current_version(db_url).id == good.id
    assert len(read_services(db_url)) == 10
    with engine_for(db_url).connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM service")).scalar() == 10
