"""The demo region through Dagster's Celery executor: two `celery worker` processes on a local
Redis, the instance on PostgreSQL, each source's ingest its own run and every step a Celery
task. Its directory must equal the one the session's in-process demo run published from the
same sites (tests/conftest.py `demo_run`).

Run alone with `pytest -m celery`; needs scripts/services-up (under CI=true a missing Redis
or PostgreSQL fails the test rather than skipping it)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import psycopg
import pytest
import redis
import yaml

from pipelines.executors import PARTITION_TAG, celery_execution, run_distributed
from pipelines.instance_storage import PG_URL_VARIABLE
from pipelines.resources import ServicemapSettings
from pipelines.run import sync_source_partitions
from servicemap.publish import read_services
from servicemap.publish.rows import service_content
from tests.conftest import BROKEN_SOURCE

pytestmark = [pytest.mark.celery, pytest.mark.postgres, pytest.mark.slow]

REPOSITORY = Path(__file__).resolve().parents[1]
REDIS_DB = 11  # apart from a developer's own workers on database 0
BROKER = f"redis://127.0.0.1:6379/{REDIS_DB}"
INSTANCE_DATABASE = "servicemap_dagster_ci"  # Dagster's tables, apart from the directory's
INSTANCE_URL = f"postgresql://postgres@127.0.0.1:5432/{INSTANCE_DATABASE}"


def _unavailable() -> str | None:
    try:
        redis.Redis.from_url(BROKER, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        return f"Redis does not answer at {BROKER} ({exc}); start it with scripts/services-up"
    try:
        psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", connect_timeout=2).close()
    except psycopg.OperationalError as exc:
        return f"PostgreSQL does not answer at 127.0.0.1:5432 ({exc}); start it with scripts/services-up"
    return None


@pytest.fixture
def fresh_instance_database() -> str:
    """An empty PostgreSQL database for the Dagster instance of this test."""
    problem = _unavailable()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(problem)
        pytest.skip(problem)
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {INSTANCE_DATABASE} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {INSTANCE_DATABASE}")
    redis.Redis.from_url(BROKER).flushdb()
    return INSTANCE_URL


@pytest.fixture
def dagster_home(tmp_path: Path, fresh_instance_database: str, monkeypatch) -> Path:
    """A DAGSTER_HOME with the repository's own dagster.yaml, its files under tmp_path."""
    home = tmp_path / "dagster"
    home.mkdir()
    config = yaml.safe_load((REPOSITORY / "dagster.yaml").read_text(encoding="utf-8"))
    config["storage"]["custom"]["config"]["base_dir"] = str(home)
    config["local_artifact_storage"]["config"]["base_dir"] = str(home)
    config["compute_logs"]["config"]["base_dir"] = str(home / "storage")
    (home / "dagster.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv(PG_URL_VARIABLE, fresh_instance_database)
    return home


@pytest.fixture
def celery_settings(tmp_path: Path, dagster_home: Path, demo_run, monkeypatch) -> ServicemapSettings:
    """The settings of the Celery run, in the environment as `dagster dev` and the workers read
    them: the demo run's sources (its sites are still served), a directory of its own."""
    _, demo_settings, _ = demo_run
    settings = ServicemapSettings(
        sources_path=str(Path(demo_settings.sources_path).resolve()),
        database_url=f"sqlite:///{tmp_path / 'celery.sqlite'}",
        work_dir=str(tmp_path / "celery"),
    )
    monkeypatch.setenv("SERVICEMAP_SOURCES", settings.sources_path)
    monkeypatch.setenv("SERVICEMAP_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SERVICEMAP_WORK_DIR", settings.work_dir)
    return settings


@pytest.fixture
def celery_workers(tmp_path: Path, celery_settings: ServicemapSettings) -> Iterator[list[subprocess.Popen]]:
    """Two `celery worker` processes, one task at a time each, as an operator starts them."""
    celery = Path(sys.executable).with_name("celery")
    workers, logs = [], []
    for number in (1, 2):
        log = (tmp_path / f"worker{number}.log").open("w")
        logs.append(log)
        command = [str(celery), "-A", "dagster_celery.app", "-b", BROKER, "--result-backend", BROKER]
        command += ["worker", "--concurrency=1", "--prefetch-multiplier=1", "-Q", "dagster"]
        command += ["-n", f"servicemap-test-{number}@%h", "--loglevel=INFO"]
        workers.append(
            subprocess.Popen(command, cwd=REPOSITORY, env=os.environ.copy(), stdout=log, stderr=log)
        )
    yield workers
    for worker in workers:
        worker.terminate()
    for worker, log in zip(workers, logs, strict=True):
        worker.wait(timeout=60)
        log.close()


def _directory(database_url: str) -> list[tuple[str, list[str]]]:
    """The published services by content and by the crawled records behind them, ids aside:
    the two runs mint their own ids."""
    services = [
        (yaml.safe_dump(service_content(s), sort_keys=True), sorted(m.record_id for m in s.members))
        for s in read_services(database_url)
    ]
    return sorted(services)


def _celery_workers(instance: dg.DagsterInstance, run_ids) -> set[str]:
    """The workers that ran the runs' steps, as each run's event log names them."""
    names = set()
    for run_id in run_ids:
        for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
            metadata = entry.dagster_event.event_specific_data.metadata
            if "Celery worker" in metadata:
                names.add(metadata["Celery worker"].value)
    return names


def test_the_celery_run_publishes_the_same_directory_as_the_in_process_run(
    demo_run, celery_settings: ServicemapSettings, celery_workers
):
    _, in_process, _ = demo_run
    source_ids = [source.id for source in celery_settings.load_sources().enabled]
    with dg.DagsterInstance.get() as instance:
        sync_source_partitions(instance, source_ids)
        run_ids = run_distributed(instance, source_ids, celery_execution(BROKER, BROKER), 2)
        runs = {run_id: instance.get_run_by_id(run_id) for run_id in run_ids.values()}
        workers_used = _celery_workers(instance, run_ids.values())
        instance_kind = type(instance.run_storage).__name__

    assert all(worker.poll() is None for worker in celery_workers), "a celery worker died"
    assert instance_kind == "PostgresRunStorage"
    assert {runs[run_ids[s]].tags[PARTITION_TAG] for s in source_ids} == set(source_ids)
    assert BROKEN_SOURCE in source_ids  # its server is down: a crawl of nothing, as in-process
    assert all(run.status == dg.DagsterRunStatus.SUCCESS for run in runs.values())
    assert len(workers_used) == 2, f"steps ran on {sorted(workers_used)}, expected both workers"
    expected = _directory(in_process.database_url)
    assert len(expected) >= 140
    assert _directory(celery_settings.database_url) == expected
