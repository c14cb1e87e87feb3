"""The command line through Typer's test runner: output a person reads, exit codes scripts use."""

import json
import os
import pty
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from servicemap.classify.taxonomy import default_taxonomy_path
from servicemap.cli import app
from servicemap.publish import create_schema, engine_for, publish_directory
from tests.sitesserver import SiteServer

runner = CliRunner()
SERVICEMAP = Path(sys.executable).with_name("servicemap")


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


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--municipality", "Lindeloo"], ["Maatjesproject Samen Op Pad", "Steunpunt Mantelzorg"]),
        (
            ["--municipality", "Lindeloo", "--include-inactive"],
            ["Juridisch Spreekuur", "Maatjesproject Samen Op Pad", "Steunpunt Mantelzorg"],
        ),
        (["--audience", "elderly"], ["Maatjesproject Samen Op Pad", "Thuisadministratie"]),
        (["--zrm", "Financiën"], ["Schuldhulpverlening", "Thuisadministratie"]),
        (["--positive-health", "Meedoen"], ["Maatjesproject Samen Op Pad"]),
        (
            ["--domain", "finances", "--open-at", "2026-03-02 10:30"],
            ["Schuldhulpverlening", "Thuisadministratie"],
        ),
        (["--domain", "finances", "--open-at", "2026-03-03T10:30"], []),
        (["--domain", "finances", "--language", "en"], []),
        (["--domain", "finances", "--age", "40"], ["Schuldhulpverlening", "Thuisadministratie"]),
    ],
)
def test_search_takes_every_filter_of_the_search_interface(directory, options, expected):
    result = invoke("search", "", *options, "--database", directory, "--json")
    assert result.exit_code == 0, result.output
    assert sorted(hit["name"] for hit in json.loads(result.output)) == expected


def test_explain_says_where_each_word_matched(directory):
    hits = json.loads(invoke("search", "eenzaam", "--explain", "--database", directory, "--json").output)
    assert hits[0]["name"] == "Maatjesproject Samen Op Pad"
    assert {"word": "eenzaam", "term": "eenzam", "fields": ["description"]} in hits[0]["explanation"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--age", "130"], "age=130: expected a whole number of years"),
        (["--near", "0123"], "is not a Dutch postcode"),
        (["--open-now", "--open-at", "2026-03-02 10:30"], "--open-now or --open-at, not both"),
        (["--audience", "kinderen"], "audience 'kinderen' is not a term"),
    ],
)
def test_a_bad_filter_is_refused_with_exit_code_2_and_the_reason(directory, options, message):
    result = invoke("search", "hulp", *options, "--database", directory)
    assert result.exit_code == 2
    assert message in " ".join(result.output.split()) and "Traceback" not in result.output


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
    scores = json.loads(
        invoke("evaluate", "classification", "--database", settings.database_url, "--json").stdout
    )
    assert set(scores["life_domain"]["per_label"]) >= {"finances", "meaning_of_life"}
    assert 0 < scores["life_domain"]["micro"]["f1"] <= 1
    quality = json.loads(invoke("evaluate", "search", "--database", settings.database_url, "--json").stdout)
    assert quality["recall_at_5"] >= 0.9 and all(q["expected"] for q in quality["queries"])


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


@pytest.mark.parametrize(
    ("args", "check"),
    [
        (["versions"], lambda out: [v["run_id"] for v in out] == ["run-2", "run-1"]),
        (["changes"], lambda out: len(out["inactive"]) == 1),
        (["search", "mantelzorg"], lambda out: out[0]["name"] == "Steunpunt Mantelzorg"),
        (["rollback"], lambda out: out["run_id"] == "run-1" and out["services"] == 6),
        (["taxonomy", "check"], lambda out: out["valid"] and len(out["terms"]["life_domain"]) == 11),
    ],
)
def test_commands_that_print_data_print_json_for_scripts(directory, args, check):
    needs_database = args[0] != "taxonomy"
    result = invoke(*args, *(["--database", directory] if needs_database else []), "--json")
    assert result.exit_code == 0, result.output
    assert check(json.loads(result.stdout))


def test_show_and_export_print_json(directory, demo_services, tmp_path):
    shown = json.loads(invoke("show", demo_services[0].id, "--database", directory, "--json").stdout)
    assert shown["name"] == demo_services[0].name
    result = invoke("export", str(tmp_path / "hsds"), "--database", directory, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["services"] == len(demo_services)  # the one left out is exported as inactive
    assert "datapackage.json" in summary["files"] and (tmp_path / "hsds" / "services.json").is_file()


def test_sources_check_lists_the_sources_as_json(tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text(
        "sources:\n"
        "  - id: brederwijk-producten\n    organization: Gemeente Brederwijk\n    kind: html\n"
        "    start_urls: ['https://www.brederwijk.example.nl/']\n    selectors: {service_name: h1}\n"
        "  - id: ggd-lindewaard\n    organization: GGD Lindewaard\n    kind: schema_org\n"
        "    start_urls: ['https://www.ggd-lindewaard.example.nl/']\n    enabled: false\n",
        encoding="utf-8",
    )
    result = invoke("sources", "check", str(path), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["sources"] == [
        {"id": "brederwijk-producten", "kind": "html", "enabled": True},
        {"id": "ggd-lindewaard", "kind": "schema_org", "enabled": False},
    ]


def in_terminal(*args: str, timeout: float = 300) -> tuple[int, str, str]:
    """`servicemap ARGS` as a person runs it, stderr on a terminal (a pseudo-terminal) and
    stdout piped to a script: the exit code, what stdout got, what the terminal showed."""
    controller, terminal = pty.openpty()
    with tempfile.TemporaryFile() as stdout:
        process = subprocess.Popen(
            [str(SERVICEMAP), *args], stdin=subprocess.DEVNULL, stdout=stdout, stderr=terminal
        )
        os.close(terminal)
        shown = []
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the terminal closes when the command exits
                break
            if not chunk:
                break
            shown.append(chunk)
        code = process.wait(timeout=timeout)
        os.close(controller)
        stdout.seek(0)
        return code, stdout.read().decode(), b"".join(shown).decode(errors="replace")


def test_export_shows_a_progress_bar_on_the_terminal_only(directory, tmp_path):
    code, stdout, shown = in_terminal("export", str(tmp_path / "hsds"), "--database", directory, "--json")
    assert code == 0, shown
    assert f"exporting to {tmp_path / 'hsds'}" in shown
    assert json.loads(stdout)["services"] == 6  # the bar never reaches what a script reads


def test_run_shows_each_source_and_the_merge_as_progress(tmp_path):
    sources = tmp_path / "sources.yaml"
    with SiteServer("welzijn-schema") as site:
        sources.write_text(
            "sources:\n  - id: welzijn-de-linde\n    organization: Stichting Welzijn De Linde\n"
            f"    kind: schema_org\n    start_urls: ['{site.url('/')}']\n",
            encoding="utf-8",
        )
        database = f"sqlite:///{tmp_path / 'directory.sqlite'}"
        code, _, shown = in_terminal(
            "run", "--sources", str(sources), "--database", database, "--work-dir", str(tmp_path)
        )
    assert code == 0, shown
    assert "crawling welzijn-de-linde" in shown and "0/2" in shown
    assert "merging (dedup), classifying, publishing" in shown and "1/2" in shown
