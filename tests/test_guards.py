"""The checks that guard publication, run as Dagster runs them: each sources' ingest results
are stored in the instance as the ingest job would leave them, then the directory run either
publishes or is stopped by a blocking check while the last good directory keeps serving."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
import yaml
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from pipelines.assets.directory import source_health
from pipelines.assets.ingest import SNAPSHOT_KEY
from pipelines.checks import sources_fresh
from pipelines.partitions import source_partitions
from pipelines.resources import ServicemapSettings
from pipelines.run import materialize_directory
from servicemap.api.app import create_app
from servicemap.api.security import SecuritySettings
from servicemap.cli import app
from servicemap.crawl import CrawlResult
from servicemap.guards import CrawlSnapshot, check_conformance, crawl_changes
from servicemap.publish import current_version, engine_for, list_versions, publish_directory, read_services
from servicemap.records import Address, NormalizedRecord, Phone, RawRecord, Rejection, StageResult
from servicemap.validate import Validation
from servicemap.validate.suite import ExpectationOutcome
from tests.conftest import demo_service_list

FETCHED = datetime(2026, 11, 16, 4, 10, tzinfo=UTC)
BREDERWIJK, LINDELOO = "brederwijk-sociaal", "welzijn-lindeloo"
SERVICES = {
    BREDERWIJK: [
        "Schuldhulpverlening",
        "Thuisadministratie",
        "Wijkteam Noord",
        "Juridisch spreekuur",
        "Taalcafé De Brug",
        "Voedselbank Brederwijk",
    ],
    LINDELOO: [
        "Steunpunt Mantelzorg",
        "Maatjesproject Samen Op Pad",
        "Opvoedsteunpunt",
        "Rouwgroep Lindeloo",
        "Klussendienst 55+",
        "Buurtkamer De Linde",
    ],
}
BLOCKING = [
    "records_conserved",
    "rejection_rate_within_limit",
    "expectation_suite_results",
    "services_not_dropped",
    "enough_services_reachable",
]


def record(source_id: str, number: int, name: str, reachable: bool = True) -> NormalizedRecord:
    city = "Brederwijk" if source_id == BREDERWIJK else "Lindeloo"
    return NormalizedRecord(
        record_id=f"{source_id}:dienst-{number}",
        source_id=source_id,
        url=f"https://{source_id}.example.nl/dienst-{number}",
        fetched_at=FETCHED,
        extraction="schema_org",
        name=name,
        organization=f"Welzijn {city}",
        description=f"{name}: hulp en advies voor inwoners van {city}.",
        address=Address(street="Dorpsstraat", house_number=str(number + 1), postcode="9999 AA", city=city)
        if reachable
        else None,
        phones=[
            Phone(number=f"+3130000{100 + number + (0 if source_id == BREDERWIJK else 50):04d}", kind="voice")
        ]
        if reachable
        else [],
        municipality=city,
    )


def records_of(source_id: str, count: int | None = None, reachable: bool = True) -> list[NormalizedRecord]:
    names = SERVICES[source_id][:count]
    return [record(source_id, number, name, reachable) for number, name in enumerate(names)]


def rejection(source_id: str, number: int) -> Rejection:
    return Rejection(
        record_id=f"{source_id}:kapot-{number}",
        source_id=source_id,
        url=f"https://{source_id}.example.nl/kapot-{number}",
        stage="normalize",
        reason="no service name on the page",
        raw={},
    )


def raw(record_id: str, url: str) -> RawRecord:
    source_id, key = record_id.split(":", 1)
    return RawRecord(source_id=source_id, key=key, url=url, fetched_at=FETCHED, extraction="schema_org")


def store_ingest(
    instance: dg.DagsterInstance,
    source_id: str,
    kept: list[NormalizedRecord],
    rejected: list[Rejection] = (),
    expectations: list[ExpectationOutcome] = (),
    extra_crawled: int = 0,
    finished_at: datetime = FETCHED,
) -> None:
    """Leave one source's crawl and validation in the instance as its ingest run would."""
    crawled = [raw(r.record_id, r.url) for r in [*kept, *rejected]]
    crawled += [
        raw(f"{source_id}:verdwenen-{n}", f"https://{source_id}.example.nl/v{n}")
        for n in range(extra_crawled)
    ]
    crawl = CrawlResult(source_id=source_id, records=crawled, started_at=finished_at, finished_at=finished_at)
    # Built as validated_records builds it: the stored result is a plain, picklable StageResult.
    validation = Validation(result=StageResult(), expectations=list(expectations)).model_copy(
        update={"result": StageResult(kept=list(kept), rejected=list(rejected))}
    )

    @dg.asset(name="crawled_records", partitions_def=source_partitions, group_name="ingest")
    def stored_crawl() -> dg.Output[CrawlResult]:
        snapshot = CrawlSnapshot.of(crawl)
        return dg.Output(
            crawl, metadata={SNAPSHOT_KEY: dg.MetadataValue.json(snapshot.model_dump(mode="json"))}
        )

    @dg.asset(name="validated_records", partitions_def=source_partitions, group_name="ingest")
    def stored_validation() -> Validation:
        return validation

    instance.add_dynamic_partitions(source_partitions.name, [source_id])
    assert dg.materialize(
        [stored_crawl, stored_validation], partition_key=source_id, instance=instance
    ).success


def make_settings(tmp_path, **overrides) -> ServicemapSettings:
    path = tmp_path / "sources.yaml"
    sources = [
        {
            "id": source_id,
            "organization": f"Welzijn {source_id.split('-')[-1].title()}",
            "kind": "schema_org",
            "start_urls": [f"https://{source_id}.example.nl/"],
            "max_age_days": 7,
        }
        for source_id in SERVICES
    ]
    path.write_text(yaml.safe_dump({"sources": sources}), encoding="utf-8")
    return ServicemapSettings(
        sources_path=str(path),
        database_url=f"sqlite:///{tmp_path / 'directory.sqlite'}",
        work_dir=str(tmp_path / "work"),
        **overrides,
    )


def evaluations(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def publish_good_run(instance, settings) -> dg.ExecuteInProcessResult:
    for source_id in SERVICES:
        store_ingest(instance, source_id, records_of(source_id))
    result = materialize_directory(settings, instance)
    assert result.success
    return result


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """A directory of twelve services published by a good run: the one that must keep serving."""
    tmp_path = tmp_path_factory.mktemp("guards")
    settings = make_settings(tmp_path)
    with dg.instance_for_test() as instance:
        good = publish_good_run(instance, settings)
        yield instance, settings, good, current_version(settings.database_url)


def test_a_good_run_passes_every_blocking_check_and_publishes(published):
    _, settings, good, version = published
    checks = evaluations(good)
    assert {name: checks[name].passed for name in BLOCKING} == dict.fromkeys(BLOCKING, True)
    assert version.services == 12 and version.overridden_checks is None


def broken_crawl(instance):
    """Lindeloo's site was redesigned: its crawl finds one of its six services."""
    store_ingest(instance, BREDERWIJK, records_of(BREDERWIJK))
    store_ingest(instance, LINDELOO, records_of(LINDELOO, count=1))


def unreachable_services(instance):
    """An extractor lost every phone number and address."""
    for source_id in SERVICES:
        store_ingest(instance, source_id, records_of(source_id, reachable=False))


def mostly_rejected(instance):
    store_ingest(
        instance, BREDERWIJK, records_of(BREDERWIJK), rejected=[rejection(BREDERWIJK, n) for n in range(8)]
    )
    store_ingest(instance, LINDELOO, records_of(LINDELOO))


def records_lost(instance):
    """Two crawled records are neither in a service nor in the quarantine."""
    store_ingest(instance, BREDERWIJK, records_of(BREDERWIJK), extra_crawled=2)
    store_ingest(instance, LINDELOO, records_of(LINDELOO))


def expectation_fails_widely(instance):
    failing = ExpectationOutcome(
        name="expect_service_reachable",
        reason="a professional cannot reach this service",
        success=False,
        unexpected_count=5,
        element_count=6,
    )
    store_ingest(instance, BREDERWIJK, records_of(BREDERWIJK), expectations=[failing])
    store_ingest(instance, LINDELOO, records_of(LINDELOO))


@pytest.mark.parametrize(
    ("bad_run", "check", "says"),
    [
        (broken_crawl, "services_not_dropped", f"{LINDELOO} 6 → 1 (-83%)"),
        (unreachable_services, "enough_services_reachable", "0% of 12 services have a phone or an address"),
        (mostly_rejected, "rejection_rate_within_limit", f"{BREDERWIJK} (57% rejected)"),
        (records_lost, "records_conserved", "crawled 14 ≠ published 12 + rejected 0"),
        (expectation_fails_widely, "expectation_suite_results", "expect_service_reachable (83%)"),
    ],
)
def test_a_failed_blocking_check_stops_the_publish_and_the_last_directory_keeps_serving(
    published, bad_run, check, says
):
    instance, settings, _, version = published
    bad_run(instance)

    result = materialize_directory(settings, instance)

    assert not result.success
    failed = evaluations(result)[check]
    assert not failed.passed and failed.severity == dg.AssetCheckSeverity.ERROR
    assert says in failed.description
    assert not result.is_node_success("published_directory")
    assert current_version(settings.database_url).id == version.id
    client = TestClient(create_app(settings.database_url, security=SecuritySettings()))
    assert client.get("/").json()["directory_version"]["id"] == version.id
    assert client.get("/services").json()["total_items"] == 12


def test_the_drop_check_names_the_source_and_the_directory_in_its_table(published):
    instance, settings, _, _ = published
    broken_crawl(instance)

    failed = evaluations(materialize_directory(settings, instance))["services_not_dropped"]

    table = failed.metadata["services per source"].value
    assert f"| {LINDELOO} | 6 | 1 | -83% | **over** |" in table
    assert "| (whole directory) | 12 | 7 | -42% | **over** |" in table
    assert failed.metadata["limit"].value == 0.3


def test_an_override_publishes_despite_the_failed_check_and_is_recorded_in_the_version(tmp_path):
    reason = "Lindeloo vernieuwt de website; vijf diensten staan tijdelijk offline"
    settings = make_settings(tmp_path)
    with dg.instance_for_test() as instance:
        publish_good_run(instance, settings)
        broken_crawl(instance)
        overriding = make_settings(tmp_path, override_checks=True, override_reason=reason)

        result = materialize_directory(overriding, instance)

        assert result.success
        overridden = evaluations(result)["services_not_dropped"]
        assert not overridden.passed and overridden.severity == dg.AssetCheckSeverity.WARN
        assert overridden.description.startswith(f"overridden ({reason})")
    version = current_version(settings.database_url)
    assert version.overridden_checks == ["services_not_dropped"]
    assert version.override_reason == reason
    # The five missing services stay, marked inactive, until the site is back.
    assert version.services == 12 and version.inactive_services == 5
    assert [v.overridden_checks for v in list_versions(settings.database_url)] == [
        ["services_not_dropped"],
        None,
    ]

    shown = CliRunner().invoke(app, ["versions", "--database", settings.database_url])

    assert shown.exit_code == 0, shown.output
    assert "overridden" in shown.output and "passed" in shown.output
    assert f"Version {version.id} was published although services_not_dropped failed" in shown.output
    assert reason in " ".join(shown.output.split())


def test_an_override_without_a_reason_is_refused_when_the_settings_are_loaded(tmp_path):
    with pytest.raises(ValueError, match="override_checks is set without an override_reason"):
        make_settings(tmp_path, override_checks=True)


def test_a_source_not_crawled_successfully_within_its_policy_fails_the_freshness_check(tmp_path):
    settings = make_settings(tmp_path)
    now = datetime.now(UTC)
    with dg.instance_for_test() as instance:
        store_ingest(instance, BREDERWIJK, records_of(BREDERWIJK), finished_at=now - timedelta(days=1))
        store_ingest(instance, LINDELOO, records_of(LINDELOO), finished_at=now - timedelta(days=10))
        store_ingest(instance, LINDELOO, [], finished_at=now - timedelta(hours=2))  # the site is down

        result = dg.materialize(
            [source_health, sources_fresh], instance=instance, resources={"settings": settings}
        )

    assert result.success  # an alert, not a failed run: the directory keeps being published
    check = evaluations(result)["sources_fresh"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert f"{LINDELOO} (10.0 days, policy 7)" in check.description
    assert BREDERWIJK not in check.description
    [materialization] = result.asset_materializations_for_node("source_health")
    health = materialization.metadata["yield, HTTP errors and robots vs the crawl before"].value
    assert f"| {LINDELOO} | 0 (6) |" in health and "yield 6 → 0 records" in health


def test_freshness_passes_when_every_source_was_crawled_within_its_policy(tmp_path):
    settings = make_settings(tmp_path)
    with dg.instance_for_test() as instance:
        for source_id in SERVICES:
            store_ingest(instance, source_id, records_of(source_id), finished_at=datetime.now(UTC))

        result = dg.materialize(
            [source_health, sources_fresh], instance=instance, resources={"settings": settings}
        )

    assert evaluations(result)["sources_fresh"].passed


def test_the_published_demo_directory_conforms_to_hsds_through_its_export_and_api(tmp_path):
    url = f"sqlite:///{tmp_path / 'directory.sqlite'}"
    publish_directory(url, demo_service_list(), [], run_id="demo")

    conformance = check_conformance(url, tmp_path / "export")

    assert conformance.problems == []
    assert conformance.services_checked == conformance.services_exported == 6
    assert conformance.endpoints == {"/": "200", "/services": "200", "/services/{id}": "200, 404"}


def test_a_broken_published_directory_fails_conformance_and_names_the_deviation(tmp_path):
    url = f"sqlite:///{tmp_path / 'directory.sqlite'}"
    publish_directory(url, demo_service_list(), [], run_id="demo")
    with engine_for(url).begin() as db:
        db.exec_driver_sql("update service set email = 'geen adres' where name = 'Juridisch Spreekuur'")

    conformance = check_conformance(url, tmp_path / "export")

    assert not conformance.passed
    assert any(p.startswith("export: ") and "'geen adres'" in p for p in conformance.problems)
    service_id = next(s.id for s in read_services(url) if s.name == "Juridisch Spreekuur")
    # The API sends the document the publish stored; the tables changed behind its back.
    assert f"GET /services/{service_id}: differs from the export's object in email" in conformance.problems


def snapshot(**figures) -> CrawlSnapshot:
    base = {
        "source_id": LINDELOO,
        "started_at": FETCHED,
        "finished_at": FETCHED,
        "records": 40,
        "pages_fetched": 45,
        "http_errors": 0,
        "fetch_errors": 0,
        "robots_refusals": 0,
        "robots_txt_status": 200,
        "robots_txt_bytes": 24,
    }
    return CrawlSnapshot(**{**base, **figures})


def test_source_health_names_what_a_site_did_differently_since_the_crawl_before():
    before = snapshot()
    after = snapshot(records=3, http_errors=12, robots_refusals=30, robots_txt_bytes=61)

    assert crawl_changes(after, before, max_drop=0.3) == [
        "yield 40 → 3 records",
        "HTTP errors 0 → 12",
        "robots.txt changed (24 → 61 bytes)",
        "pages refused by robots.txt 0 → 30",
    ]
    assert crawl_changes(snapshot(robots_txt_status=404), before, 0.3) == ["robots.txt answered 200 → 404"]


def test_a_robots_txt_confirmed_unchanged_by_a_304_is_not_a_change():
    assert crawl_changes(snapshot(robots_txt_status=304, robots_txt_bytes=0), snapshot(), 0.3) == []
    assert crawl_changes(snapshot(records=35), snapshot(), 0.3) == []  # within the drop limit
