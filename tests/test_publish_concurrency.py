"""A reader during publishes sees one whole version, never a mix, on SQLite (WAL) and
PostgreSQL; a failed publish and a rollback leave readers on a whole version too."""

import hashlib
import threading
import time

import pytest
from sqlalchemy import text

from servicemap.publish import PublishError, engine_for, publish_directory, read_services, rollback
from tests.conftest import build_service

SIZES = [5, 60, 12, 90, 1, 40]


def run_services(run: int, size: int):
    return [
        build_service(
            f"Ontmoetingsgroep {run}-{n}",
            f"Welzijn Lindeloo {n % 4}",
            "Lindeloo",
            f"Wekelijkse koffieochtend {n} voor buurtbewoners.",
            ["social_participation"],
            postcode="9998 BB",
            house_number=str(n + 1),
        )
        for n in range(size)
    ]


def checksum(names) -> str:
    return hashlib.sha256("\n".join(sorted(names)).encode()).hexdigest()


def test_a_reader_during_publishes_always_sees_exactly_one_version(db_url):
    runs = {f"run-{i}": run_services(i, size) for i, size in enumerate(SIZES)}
    expected = {run_id: (len(s), checksum(x.name for x in s)) for run_id, s in runs.items()}
    publish_directory(db_url, runs["run-0"], [], run_id="run-0", keep_inactive_runs=0)
    seen: list[tuple[str, int, str]] = []
    mixed: list[str] = []
    done = threading.Event()

    def read_in_a_loop() -> None:
        engine = engine_for(db_url)
        while not done.is_set():
            with engine.connect() as connection:
                version = connection.execute(
                    text("SELECT id, run_id, services FROM directory_version WHERE is_current")
                ).one()
                names = connection.execute(
                    text("SELECT name FROM service WHERE directory_version_id = :v"), {"v": version.id}
                ).scalars()
                names = list(names)
            seen.append((version.run_id, len(names), checksum(names)))
            if (len(names), checksum(names)) != expected[version.run_id] or len(names) != version.services:
                mixed.append(f"{version.run_id}: {len(names)} rows, version row says {version.services}")
            through_api = checksum(s.name for s in read_services(db_url))
            if through_api not in {c for _, c in expected.values()}:
                mixed.append(f"read_services gave a set of names no version has ({through_api[:8]})")

    reader = threading.Thread(target=read_in_a_loop)
    reader.start()
    try:
        for run_id, services in list(runs.items())[1:]:
            publish_directory(db_url, services, [], run_id=run_id, keep_inactive_runs=0, keep_versions=2)
            # the next publish waits until the reader has met this version, so every one is read
            while reader.is_alive() and run_id not in {r for r, _, _ in seen}:
                time.sleep(0.001)
    finally:
        done.set()
        reader.join(timeout=120)

    assert not reader.is_alive()
    assert mixed == []
    assert {run_id for run_id, _, _ in seen} == set(runs)


def test_a_failed_publish_and_a_rollback_leave_readers_on_a_whole_version(db_url):
    first, second = run_services(1, 8), run_services(2, 30)
    publish_directory(db_url, first, [], run_id="run-1")
    publish_directory(db_url, second, [], run_id="run-2", keep_inactive_runs=0)
    broken = [*run_services(3, 50), run_services(3, 1)[0]]  # one id twice: the database refuses it

    with pytest.raises(PublishError, match="current version is unchanged"):
        publish_directory(db_url, broken, [], run_id="run-3")
    assert sorted(s.name for s in read_services(db_url)) == sorted(s.name for s in second)

    rollback(db_url)
    assert sorted(s.name for s in read_services(db_url)) == sorted(s.name for s in first)
