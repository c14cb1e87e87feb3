"""Crash safety of the publish, on SQLite and PostgreSQL: a publishing process killed with
SIGKILL at several points, and a database that goes away under it (a terminated PostgreSQL
connection, an SQLite disk that refuses writes). Each time the last good directory still
serves, whole, through the library and the API; no row of the broken publish is left; and a
re-run publishes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from servicemap.api.app import create_app
from servicemap.publish import (
    current_version,
    engine_for,
    list_versions,
    migrate,
    publish_directory,
    read_services,
)
from servicemap.publish.search_index import SEARCH_TABLE
from servicemap.publish.tables import VERSIONED_TABLES
from servicemap.search import search
from tests.conftest import demo_service_list
from tests.faults.publish_child import EXIT_REFUSED, POINTS, generated_services

pytestmark = pytest.mark.faults

REPO = Path(__file__).resolve().parents[2]
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
FAULTS_DATABASE = "servicemap_faults"  # its own database: other tests use `test` at the same time
FAULTS_URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{FAULTS_DATABASE}"
NEW_SERVICES = 40
WAIT_SECONDS = 240  # a bound for a loaded machine, not a timing


def _fresh_postgres() -> str:
    """An empty, migrated `servicemap_faults` database; under CI=true a PostgreSQL that does
    not answer fails the test instead of skipping it."""
    try:
        admin = psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        message = f"PostgreSQL does not answer at {ADMIN_URL} (start it with services-up): {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    with admin:
        admin.execute(f"DROP DATABASE IF EXISTS {FAULTS_DATABASE} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {FAULTS_DATABASE}")
    engine_for(FAULTS_URL).dispose()  # pooled connections went with the old database
    migrate(FAULTS_URL)
    return FAULTS_URL


@pytest.fixture(params=["sqlite", "postgresql"])
def directory_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'directory.db'}"
        migrate(url)
        return url
    return _fresh_postgres()


def serving(url: str) -> dict:
    """What readers get from the current directory: its version, every service as published,
    a search, and the API's answer."""
    version = current_version(url)
    services = sorted((s.model_dump(mode="json") for s in read_services(url)), key=lambda s: s["id"])
    hits = [h.service_id for h in search(url, "schulden")]
    with TestClient(create_app(url)) as client:
        answer = client.get("/services", params={"per_page": 50})
    assert answer.status_code == 200, answer.text
    api_ids = sorted(s["id"] for s in answer.json()["contents"])
    return {"version": version.id, "services": services, "search": hits, "api": api_ids}


def stray_rows(url: str) -> int:
    """Rows of any version that is not a kept directory_version: the remains of a partial publish."""
    with engine_for(url).connect() as connection:
        kept = set(connection.execute(text("SELECT id FROM directory_version")).scalars())
        stray = 0
        for table in (*(t.__table__ for t in VERSIONED_TABLES),):
            column = table.c.directory_version_id
            stray += connection.execute(select(func.count()).where(column.not_in(kept))).scalar()
        in_index = connection.execute(text(f"SELECT directory_version_id FROM {SEARCH_TABLE}")).scalars()
        stray += sum(1 for v in in_index if v not in kept)
    return stray


def start_publish(url: str, run_id: str, point: str, control: Path) -> subprocess.Popen:
    control.mkdir(exist_ok=True)
    command = [sys.executable, "-m", "tests.faults.publish_child", url, run_id, str(NEW_SERVICES), point]
    return subprocess.Popen(
        [*command, str(control)], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def wait_until_paused(child: subprocess.Popen, control: Path) -> dict:
    deadline = time.monotonic() + WAIT_SECONDS
    while not (control / "paused").exists():
        if child.poll() is not None:
            pytest.fail(f"the publish ended before its pause point: {child.communicate()[1][-2000:]}")
        if time.monotonic() > deadline:
            child.kill()
            pytest.fail(f"the publish did not reach its pause point in {WAIT_SECONDS}s")
        time.sleep(0.05)
    return json.loads((control / "paused").read_text())


def rerun_completes(url: str, control: Path, good: dict) -> None:
    child = start_publish(url, "rerun", "none", control / "rerun")
    out, err = child.communicate(timeout=WAIT_SECONDS)
    assert child.returncode == 0, err[-2000:]
    assert current_version(url).id == out.strip()
    active = {s.name for s in read_services(url) if s.status == "active"}
    assert active == {s.name for s in generated_services("rerun", NEW_SERVICES)}
    assert good["version"] in {v.id for v in list_versions(url)}  # kept for a rollback


@pytest.mark.parametrize("point", list(POINTS))
def test_a_publish_killed_at_any_point_leaves_the_last_good_directory_serving(directory_url, tmp_path, point):
    publish_directory(directory_url, demo_service_list(), [], run_id="good")
    good = serving(directory_url)
    assert good["search"] and len(good["api"]) == len(demo_service_list())

    child = start_publish(directory_url, "killed", point, tmp_path / "control")
    wait_until_paused(child, tmp_path / "control")
    child.send_signal(signal.SIGKILL)
    child.communicate(timeout=WAIT_SECONDS)

    assert child.returncode == -signal.SIGKILL
    assert serving(directory_url) == good
    assert [v.id for v in list_versions(directory_url)] == [good["version"]]
    assert stray_rows(directory_url) == 0
    rerun_completes(directory_url, tmp_path, good)


def test_a_terminated_postgresql_connection_mid_publish_leaves_the_last_good_directory(tmp_path):
    url = _fresh_postgres()
    publish_directory(url, demo_service_list(), [], run_id="good")
    good = serving(url)

    child = start_publish(url, "cut-off", "service-rows", tmp_path / "control")
    paused = wait_until_paused(child, tmp_path / "control")
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        [[terminated]] = admin.execute("SELECT pg_terminate_backend(%s)", [paused["backend_pid"]]).fetchall()
    assert terminated
    (tmp_path / "control" / "resume").write_text("go")
    _, err = child.communicate(timeout=WAIT_SECONDS)

    assert child.returncode == EXIT_REFUSED, err[-2000:]
    assert "run 'cut-off' could not be published" in err and "the current version is unchanged" in err
    assert serving(url) == good
    assert stray_rows(url) == 0
    rerun_completes(url, tmp_path, good)


def test_an_sqlite_disk_that_refuses_writes_mid_publish_leaves_the_last_good_directory(tmp_path):
    url = f"sqlite:///{tmp_path / 'directory.db'}"
    publish_directory(url, demo_service_list(), [], run_id="good")
    good = serving(url)

    child = start_publish(url, "disk-full", "service-rows", tmp_path / "control")
    wait_until_paused(child, tmp_path / "control")
    (tmp_path / "control" / "resume").write_text("disk-full")
    _, err = child.communicate(timeout=WAIT_SECONDS)

    assert child.returncode == EXIT_REFUSED, err[-2000:]
    assert "run 'disk-full' could not be published" in err and "the current version is unchanged" in err
    assert serving(url) == good
    assert stray_rows(url) == 0
    rerun_completes(url, tmp_path, good)
