"""benchmarks/scale.py on a small region (2 sites of 40 pages): both modes run from crawl to
publish, and the results name every stage of each with its time, the memory, and the ratio.
Needs scripts/services-up for the Celery mode (under CI=true a missing service fails the test)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
import redis

pytestmark = [pytest.mark.slow, pytest.mark.celery, pytest.mark.postgres]

SCRIPT = Path(__file__).parents[1] / "benchmarks" / "scale.py"
SITES, PAGES = 2, 40
STAGES = ["crawl", "normalise", "validate", "dedup", "classify", "publish", "checks, quarantine, health"]


def _unavailable() -> str | None:
    try:
        redis.Redis.from_url("redis://127.0.0.1:6379/12", socket_connect_timeout=2).ping()
        psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", connect_timeout=2).close()
    except (redis.RedisError, psycopg.OperationalError) as exc:
        return f"Redis or PostgreSQL does not answer ({exc}); start them with scripts/services-up"
    return None


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict:
    problem = _unavailable()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(problem)
        pytest.skip(problem)
    out = tmp_path_factory.mktemp("scale")
    command = [sys.executable, str(SCRIPT), "--sites", str(SITES), "--pages", str(PAGES), "--out", str(out)]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr[-3000:]
    return {
        "json": json.loads((out / "scale.json").read_text(encoding="utf-8")),
        "md": (out / "scale.md").read_text(encoding="utf-8"),
    }


def test_both_modes_crawl_every_page_and_publish_the_same_number_of_services(results):
    run = results["json"]["runs"][f"{SITES}x{PAGES}"]
    assert run["region"]["pages"] == SITES * PAGES
    in_process, celery = run["modes"]["in_process"], run["modes"]["celery"]
    assert in_process["instance_storage"] == "SqliteRunStorage"
    assert celery["instance_storage"] == "PostgresRunStorage"
    for mode in (in_process, celery):
        assert mode["pages_fetched"] == SITES * (PAGES + 1)  # every page and each site's robots.txt
        assert mode["records_crawled"] == run["region"]["product_pages"]
        # Conservation: every crawled record is published in a service or rejected with a reason.
        assert mode["source_records_published"] + mode["records_rejected"] == mode["records_crawled"]
        assert mode["services_published"] < mode["records_crawled"]  # the sites list services twice
    assert celery["services_published"] == in_process["services_published"]


def test_every_stage_is_timed_in_both_modes_with_memory_and_ratio(results):
    run = results["json"]["runs"][f"{SITES}x{PAGES}"]
    for mode in run["modes"].values():
        assert list(mode["stages"]) == STAGES
        for stage in ("crawl", "normalise", "validate"):
            assert mode["stages"][stage]["steps"] == SITES  # one step per source
        for stage in STAGES:
            assert mode["stages"][stage]["step_seconds"] > 0, stage
        assert mode["stages"]["crawl"]["pages"] == SITES * (PAGES + 1)
        assert mode["phase_seconds"]["ingest"] > 0 and mode["phase_seconds"]["directory"] > 0
        assert mode["peak_memory"]["coordinator_mb"] > 50
        assert mode["cpu_seconds"]["pipeline"] > mode["stages"]["crawl"]["step_seconds"] / 10
    assert run["modes"]["celery"]["peak_memory"]["workers_mb"] > 50
    assert set(run["ratios"]) >= {"wall", "ingest phase", "directory phase", *STAGES}
    assert all(run["ratios"][stage] > 0 for stage in STAGES)
    for stage in STAGES:
        assert f"| {stage} |" in results["md"]
    assert "load average" in results["md"]
