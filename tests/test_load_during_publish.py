"""The API under load from a second process while the directory is published over and over:
no errors but the deliberate 429s of the rate limit, and every answer from one directory
version (benchmarks/load_during_publish.py, here for 15 s at 20 clients per backend)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import _postgres_answers
from tests.test_security import private_postgres

SCRIPT = Path(__file__).parents[1] / "benchmarks" / "load_during_publish.py"
SECONDS = 15
CLIENTS = 20


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict[str, dict]:
    out = tmp_path_factory.mktemp("load")
    command = [sys.executable, str(SCRIPT), "--seconds", str(SECONDS), "--clients", str(CLIENTS)]
    command += ["--sqlite", str(out / "directory.db"), "--out", str(out)]
    if _postgres_answers():
        command += ["--postgres", private_postgres("servicemap_load_test")]
    subprocess.run(command, check=True, capture_output=True, timeout=20 * SECONDS)
    runs = json.loads((out / "load_during_publish.json").read_text(encoding="utf-8"))
    return {run["backend"]: run for run in runs}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql+psycopg"])
def test_load_during_publish_sees_no_error_and_no_mixed_version(results: dict[str, dict], backend: str):
    if backend not in results:
        pytest.skip("PostgreSQL does not answer at 127.0.0.1:5432 (start it with scripts/services-up)")
    run = results[backend]
    assert run["errors"] == []
    assert run["mixed"] == []
    assert set(run["statuses"]) <= {"200", "429"}
    assert run["answered_200"] >= 100
    # The load overlapped the publishes: answers came from several versions, not just one.
    assert run["publishes"] >= 3
    assert run["versions_answered"] >= 3
