"""Seen dates, the inactive policy and the changes between versions, on both backends."""

import hashlib
import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from servicemap.publish import (
    PublishError,
    VersionNotFound,
    changes_between,
    engine_for,
    list_versions,
    publish_directory,
    read_services,
)
from servicemap.publish.rows import DIGEST_PREFIX, service_content
from servicemap.records import Phone, SourceRef
from servicemap.search import search
from tests.conftest import FETCHED_AT

RUNS = [datetime(2026, 3, day, 4, 0, tzinfo=UTC) for day in (2, 9, 16, 23, 30)]
RECRAWLED_AT = datetime(2026, 3, 8, 22, 15, tzinfo=UTC)


def by_name(services) -> dict:
    return {s.name: s for s in services}


def recrawled(service, fetched_at=RECRAWLED_AT, **changes):
    """The service as a later crawl found it: the same records fetched again, plus `changes`."""
    members = [SourceRef(**{**m.model_dump(), "fetched_at": fetched_at}) for m in service.members]
    return service.model_copy(update={"members": members, **changes})


def test_seen_dates_follow_real_recrawls_and_content_changes(db_url, demo_services):
    publish_directory(db_url, demo_services, [], run_id="run-1", now=RUNS[0])
    second_run = [
        recrawled(s, phones=[Phone(number="+31300000199", kind="voice")])
        if s.name == "Steunpunt Mantelzorg"
        # a re-crawl of an unchanged page: the same content, fetched again
        else recrawled(s)
        if s.name == "Schuldhulpverlening"
        # not crawled again (its source was skipped this run): the old fetch is reused
        else s
        for s in demo_services
    ]

    publish_directory(db_url, second_run, [], run_id="run-2", now=RUNS[1])

    services = by_name(read_services(db_url))
    mantelzorg, schuldhulp, spreekuur = (
        services["Steunpunt Mantelzorg"],
        services["Schuldhulpverlening"],
        services["Juridisch Spreekuur"],
    )
    assert (mantelzorg.first_seen, mantelzorg.last_seen, mantelzorg.last_changed) == (
        RUNS[0],
        RECRAWLED_AT,
        RUNS[1],
    )
    assert (schuldhulp.first_seen, schuldhulp.last_seen, schuldhulp.last_changed) == (
        RUNS[0],
        RECRAWLED_AT,
        RUNS[0],
    )
    assert (spreekuur.first_seen, spreekuur.last_seen, spreekuur.last_changed) == (
        RUNS[0],
        FETCHED_AT,
        RUNS[0],
    )


def test_a_new_service_is_first_seen_and_changed_at_its_first_publish(db_url, demo_services, make_service):
    publish_directory(db_url, demo_services, [], run_id="run-1", now=RUNS[0])
    newcomer = make_service(
        "Taalcafé De Linde",
        "Bibliotheek Lindeloo",
        "Lindeloo",
        "Oefen Nederlands praten.",
        ["social_participation"],
    )

    publish_directory(db_url, [*demo_services, newcomer], [], run_id="run-2", now=RUNS[1])

    taalcafe = by_name(read_services(db_url))["Taalcafé De Linde"]
    assert (taalcafe.first_seen, taalcafe.last_changed, taalcafe.last_seen) == (RUNS[1], RUNS[1], FETCHED_AT)


def test_a_missing_service_stays_inactive_for_the_configured_runs_then_is_removed(db_url, demo_services):
    publish_directory(db_url, demo_services, [], run_id="run-1", now=RUNS[0])
    without = [s for s in demo_services if s.name != "Juridisch Spreekuur"]

    for run, now in enumerate(RUNS[1:3], start=2):
        version = publish_directory(db_url, without, [], run_id=f"run-{run}", keep_inactive_runs=2, now=now)
        assert (version.services, version.inactive_services, version.source_records) == (6, 1, 5)
        spreekuur = by_name(read_services(db_url))["Juridisch Spreekuur"]
        # marked on the publish that first missed it, with the date its sources last had it
        assert (spreekuur.status, spreekuur.inactive_since, spreekuur.last_seen) == (
            "inactive",
            RUNS[1],
            FETCHED_AT,
        )
        assert spreekuur.phones == demo_services[-1].phones  # still reachable for a professional who looks
        assert search(db_url, "spreekuur") == []
        assert [h.status for h in search(db_url, "spreekuur", include_inactive=True)] == ["inactive"]

    version = publish_directory(db_url, without, [], run_id="run-4", keep_inactive_runs=2, now=RUNS[3])

    assert (version.services, version.inactive_services) == (5, 0)
    assert "Juridisch Spreekuur" not in by_name(read_services(db_url))


def test_by_default_a_missing_service_is_kept_for_three_publishes(db_url, demo_services):
    publish_directory(db_url, demo_services, [], run_id="run-1", now=RUNS[0])
    without = demo_services[:-1]

    kept = [
        publish_directory(
            db_url, without, [], run_id=f"run-{run}", keep_versions=5, now=now
        ).inactive_services
        for run, now in enumerate(RUNS[1:], start=2)
    ]

    assert kept == [1, 1, 1, 0]


def test_a_negative_number_of_inactive_runs_is_refused(db_url, demo_services):
    with pytest.raises(PublishError, match="keep_inactive_runs=-1: expected 0 or more"):
        publish_directory(db_url, demo_services, [], run_id="run-1", keep_inactive_runs=-1)
    assert list_versions(db_url) == []


def test_a_service_that_comes_back_keeps_its_first_seen_date(db_url, demo_services):
    publish_directory(db_url, demo_services, [], run_id="run-1", now=RUNS[0])
    publish_directory(db_url, demo_services[:-1], [], run_id="run-2", now=RUNS[1])

    publish_directory(
        db_url, [*demo_services[:-1], recrawled(demo_services[-1])], [], run_id="run-3", now=RUNS[2]
    )

    spreekuur = by_name(read_services(db_url))["Juridisch Spreekuur"]
    assert (spreekuur.status, spreekuur.inactive_since, spreekuur.inactive_runs) == ("active", None, 0)
    assert (spreekuur.first_seen, spreekuur.last_changed, spreekuur.last_seen) == (
        RUNS[0],
        RUNS[0],
        RECRAWLED_AT,
    )


def test_changes_between_versions_name_new_changed_inactive_and_removed_services(
    db_url, demo_services, make_service
):
    first = publish_directory(db_url, demo_services, [], run_id="run-1", keep_inactive_runs=1, now=RUNS[0])
    newcomer = make_service(
        "Taalcafé De Linde",
        "Bibliotheek Lindeloo",
        "Lindeloo",
        "Oefen Nederlands praten.",
        ["social_participation"],
    )
    second_run = [
        recrawled(s, description="Gratis advies over huur en uitkeringen.")
        if s.name == "Juridisch Spreekuur"
        else recrawled(s)
        for s in demo_services
        if s.name != "Maatjesproject Samen Op Pad"
    ]
    second = publish_directory(
        db_url, [*second_run, newcomer], [], run_id="run-2", keep_inactive_runs=1, now=RUNS[1]
    )
    third = publish_directory(db_url, second_run, [], run_id="run-3", keep_inactive_runs=1, now=RUNS[2])

    changes = changes_between(db_url, first.id, second.id)

    def names(entries):
        return [(e.name, e.fields) for e in entries]

    assert names(changes.new) == [("Taalcafé De Linde", [])]
    assert names(changes.changed) == [("Juridisch Spreekuur", ["description"])]
    assert names(changes.inactive) == [("Maatjesproject Samen Op Pad", [])]
    assert changes.removed == []
    later = changes_between(db_url, second.id, third.id)
    assert [e.name for e in later.removed] == ["Maatjesproject Samen Op Pad"]
    assert [e.name for e in later.inactive] == ["Taalcafé De Linde"]
    assert (later.new, later.changed) == ([], [])
    assert {e.id for e in later.removed} == {
        s.id for s in demo_services if s.name == "Maatjesproject Samen Op Pad"
    }


def test_a_service_back_from_inactive_shows_as_a_status_change(db_url, demo_services):
    publish_directory(db_url, demo_services, [], run_id="run-1", now=RUNS[0])
    missing = publish_directory(db_url, demo_services[:-1], [], run_id="run-2", now=RUNS[1])
    back = publish_directory(db_url, demo_services, [], run_id="run-3", now=RUNS[2])

    changes = changes_between(db_url, missing.id, back.id)

    assert [(e.name, e.fields) for e in changes.changed] == [("Juridisch Spreekuur", ["status"])]
    assert (changes.new, changes.inactive, changes.removed) == ([], [], [])


def test_changes_with_a_version_that_is_not_kept_say_which(db_url, demo_services):
    version = publish_directory(db_url, demo_services, [], run_id="run-1")

    with pytest.raises(
        VersionNotFound, match=f"version 'gone' is not kept; kept versions: \\['{version.id}'\\]"
    ):
        changes_between(db_url, "gone", version.id)


def test_digests_of_the_earlier_json_scheme_still_recognise_unchanged_services(db_url, demo_services):
    """A directory published before digests were written by orjson: its services are compared
    by the scheme that made their digest, so an upgrade does not mark every service changed."""
    first = publish_directory(db_url, demo_services, [], run_id="run-1", now=RUNS[0])
    with engine_for(db_url).begin() as connection:
        for service in demo_services:
            legacy = json.dumps(service_content(service), sort_keys=True, ensure_ascii=False)
            connection.execute(
                text("UPDATE service SET content_hash = :h WHERE id = :id AND directory_version_id = :v"),
                {"h": hashlib.sha256(legacy.encode("utf-8")).hexdigest(), "id": service.id, "v": first.id},
            )
    moved = demo_services[0].name
    second_run = [
        s.model_copy(update={"description": "Nu ook op zaterdag open."}) if s.name == moved else s
        for s in demo_services
    ]

    second = publish_directory(db_url, second_run, [], run_id="run-2", now=RUNS[1])

    services = by_name(read_services(db_url))
    assert services[moved].last_changed == RUNS[1]
    assert {s.last_changed for name, s in services.items() if name != moved} == {RUNS[0]}
    with engine_for(db_url).connect() as connection:
        digests = connection.execute(
            text("SELECT content_hash FROM service WHERE directory_version_id = :v"), {"v": second.id}
        ).scalars()
        assert all(digest.startswith(DIGEST_PREFIX) for digest in digests)
