"""The command line through Typer's test runner: output a person reads, exit codes scripts use."""

import json

import pytest
import yaml
from typer.testing import CliRunner

from servicemap.classify.taxonomy import default_taxonomy_path
from servicemap.cli import app
from servicemap.publish import create_schema, engine_for, publish_directory

runner = CliRunner()


@pytest.fixture
def directory(tmp_path, demo_services):
    """A SQLite directory with two published versions of the demo services."""
    url = f"sqlite:///{tmp_path / 'directory.db'}"
    create_schema(engine_for(url))
    publish_directory(url, demo_services, [], run_id="run-1")
    publish_directory(url, demo_services[:-1], [], run_id="run-2")
    return url


def invoke(*args: str):
    return runner.invoke(app, list(args))


def test_search_prints_the_matching_service_and_json_for_scripts(directory):
    table = invoke("search", "schuldhulp", "--database", directory)
    assert table.exit_code == 0 and "Schuldhulpverlening" in table.output

    hits = json.loads(invoke("search", "schuldhulp", "--database", directory, "--json").output)
    assert hits[0]["name"] == "Schuldhulpverlening" and hits[0]["service_id"]


def test_a_bad_query_is_refused_with_exit_code_2(directory):
    result = invoke("search", "   ", "--database", directory)
    assert result.exit_code == 2
    assert "error:" in result.output and "Traceback" not in result.output


def test_versions_lists_both_publishes_and_rollback_returns_to_the_first(directory):
    listed = json.loads(invoke("versions", "--database", directory, "--json").output)
    assert [v["run_id"] for v in listed] == ["run-2", "run-1"] and listed[0]["is_current"]

    rolled = invoke("rollback", "--database", directory)
    assert rolled.exit_code == 0 and "is current again" in rolled.output
    listed = json.loads(invoke("versions", "--database", directory, "--json").output)
    assert [v["run_id"] for v in listed if v["is_current"]] == ["run-1"]

    assert invoke("rollback", "--database", directory).exit_code == 3  # nothing older is kept


def test_export_writes_the_hsds_files(directory, tmp_path):
    result = invoke("export", str(tmp_path / "hsds"), "--database", directory)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "hsds" / "datapackage.json").is_file()
    assert (tmp_path / "hsds" / "services.json").is_file()


def test_run_needs_either_the_demo_or_a_sources_file(tmp_path):
    result = invoke("run", "--work-dir", str(tmp_path))
    assert result.exit_code == 2 and "--demo or --sources" in result.output


def test_run_refuses_a_wrong_sources_file_before_any_request(tmp_path):
    bad = tmp_path / "sources.yaml"
    bad.write_text("sources:\n  - id: ggd\n    organization: GGD\n    kind: rss\n    start_urls: [htp://x]\n")
    result = invoke(
        "run",
        "--sources",
        str(bad),
        "--work-dir",
        str(tmp_path),
        "--database",
        f"sqlite:///{tmp_path / 'd.db'}",
    )
    assert result.exit_code == 2
    assert "source 'ggd': kind" in result.output and "source 'ggd': start_urls" in result.output


def test_taxonomy_check_accepts_the_packaged_taxonomy_and_names_a_mistake(tmp_path):
    good = invoke("taxonomy", "check")
    assert good.exit_code == 0 and "life_domain: 11 terms" in good.output

    taxonomy = yaml.safe_load(default_taxonomy_path().read_text(encoding="utf-8"))
    finances = next(t for t in taxonomy["taxonomies"][0]["terms"] if t["id"] == "finances")
    finances["zrm"] = ["Geldzaken"]
    bad = tmp_path / "taxonomy.yaml"
    bad.write_text(yaml.safe_dump(taxonomy, allow_unicode=True), encoding="utf-8")
    result = invoke("taxonomy", "check", str(bad))
    assert result.exit_code == 2
    assert "finances" in result.output and "Geldzaken" in result.output


@pytest.mark.slow
def test_evaluate_prints_merge_and_label_quality_of_the_demo(demo_run):
    _, settings, _ = demo_run
    merge = invoke("evaluate", "dedup", "--database", settings.database_url, "--json")
    assert merge.exit_code == 0 and json.loads(merge.output)["pairwise_precision"] >= 0.98
    labels = invoke("evaluate", "classification", "--database", settings.database_url)
    assert labels.exit_code == 0
    assert "life_domain" in labels.output and "meaning_of_life" in labels.output and "micro" in labels.output


def test_changes_lists_the_service_the_second_publish_left_out(directory, demo_services):
    result = invoke("changes", "--database", directory, "--json")
    assert result.exit_code == 0, result.output
    diff = json.loads(result.output)
    assert [c["name"] for c in diff["inactive"]] == [demo_services[-1].name]
    assert diff["new"] == [] and diff["removed"] == []


def test_serve_offers_the_api_and_the_search_page_from_one_app(directory):
    from fastapi.testclient import TestClient

    from servicemap.cli import web_app

    client = TestClient(web_app(directory, cors_origins=[]))
    assert client.get("/services", params={"search": "schuldhulp"}).json()["contents"][0]["name"] == (
        "Schuldhulpverlening"
    )
    page = client.get("/zoeken", params={"q": "schuldhulp"})
    assert page.status_code == 200 and "Schuldhulpverlening" in page.text
    assert "/zoeken" not in client.get("/openapi.json").json()["paths"]
