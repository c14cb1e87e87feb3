"""'Meld een fout' reports reach operators as the review-queue asset in Dagster."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

from pipelines.assets.reports import problem_reports
from pipelines.definitions import defs
from pipelines.resources import ServicemapSettings
from servicemap.publish import publish_directory
from servicemap.web.reports import submit_report
from tests.conftest import demo_service_list, service_id

MONDAY = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


@pytest.fixture
def database(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'directory.db'}"
    publish_directory(url, demo_service_list(), [], run_id="review-run-1")
    return url


def materialized_metadata(database: str, tmp_path) -> dict:
    settings = ServicemapSettings(
        sources_path=str(tmp_path / "sources.yaml"), database_url=database, work_dir=str(tmp_path)
    )
    result = dg.materialize([problem_reports], resources={"settings": settings})
    assert result.success
    [materialization] = result.asset_materializations_for_node("problem_reports")
    return {key: value.value for key, value in materialization.metadata.items()}


def test_open_reports_are_listed_newest_first_without_the_reporter(database, tmp_path):
    submit_report(
        database,
        service_id("Schuldhulpverlening"),
        "Het telefoonnummer klopt niet meer, zij zijn verhuisd.",
        contact="assistent@praktijk-brederwijk.example.nl",
        client="10.0.0.1",
        now=MONDAY,
    )
    submit_report(
        database,
        service_id("Steunpunt Mantelzorg"),
        "Openingstijden | woensdag dicht;\nmail info@lindeloo.example.nl. [link](https://kwaad.example.com) "
        + "en verder " * 30,
        client="10.0.0.2",
        now=MONDAY + timedelta(hours=2),
    )

    metadata = materialized_metadata(database, tmp_path)

    assert metadata["open reports"] == 2 and metadata["services reported"] == 2
    assert metadata["newest"] == (MONDAY + timedelta(hours=2)).isoformat()
    table = metadata["reports"]
    rows = [line for line in table.splitlines() if line.startswith("| 2026")]
    assert [row.split(" | ")[1] for row in rows] == ["Steunpunt Mantelzorg", "Schuldhulpverlening"]
    assert service_id("Schuldhulpverlening") in rows[1]
    assert "Het telefoonnummer klopt niet meer" in rows[1]
    # One line per report, cut short, a pipe that cannot break the table, no link to follow.
    assert "Openingstijden \\| woensdag dicht; mail" in rows[0] and rows[0].endswith(" … |")
    assert "\\[link\\](https://kwaad.example.com)" in rows[0]
    # Who reported stays out of the queue: neither the contact given nor an address in the text.
    assert "praktijk-brederwijk" not in table and "info@lindeloo" not in table
    assert "\\[e-mailadres\\]" in rows[0]


def test_an_empty_queue_says_so(database, tmp_path):
    metadata = materialized_metadata(database, tmp_path)
    assert metadata["open reports"] == 0
    assert metadata["newest"] == "none" and metadata["reports"] == "no open reports"


def test_the_review_queue_is_in_the_code_location_in_its_own_group():
    graph = defs.resolve_asset_graph()
    key = dg.AssetKey("problem_reports")
    assert key in graph.get_all_asset_keys()
    assert graph.get(key).group_name == "review"
