"""The schedule and the sources.yaml sensor, evaluated with Dagster's own test contexts."""

from datetime import datetime
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
import yaml

from pipelines.automation import daily_self_check, monitor_directory, sources_file_changed, weekly_recrawl
from pipelines.definitions import asset_checks, defs, directory_assets, ingest_assets
from pipelines.partitions import source_partitions
from pipelines.resources import ServicemapSettings
from servicemap.publish import engine_for, publish_directory
from tests.conftest import demo_service_list


def source(source_id: str) -> dict:
    return {
        "id": source_id,
        "organization": "Stichting Welzijn De Linde",
        "kind": "schema_org",
        "start_urls": [f"https://{source_id}.example.nl/"],
    }


@pytest.fixture
def instance(tmp_path):
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        yield instance


def settings_for(tmp_path, *source_ids: str) -> ServicemapSettings:
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump({"sources": [source(s) for s in source_ids]}), encoding="utf-8")
    return ServicemapSettings(sources_path=str(path), database_url="sqlite://", work_dir=str(tmp_path))


def evaluate_sensor(instance, settings):
    return sources_file_changed(dg.build_sensor_context(instance=instance, resources={"settings": settings}))


def test_the_weekly_recrawl_requests_one_run_per_source(instance):
    instance.add_dynamic_partitions(source_partitions.name, ["welzijn-de-linde", "sociale-kaart"])
    monday = datetime(2026, 11, 23, 4, 0, tzinfo=ZoneInfo("Europe/Amsterdam"))

    requests = weekly_recrawl(dg.build_schedule_context(instance=instance, scheduled_execution_time=monday))

    assert sorted(r.partition_key for r in requests) == ["sociale-kaart", "welzijn-de-linde"]
    assert {r.run_key for r in requests} == {"welzijn-de-linde:2026-W48", "sociale-kaart:2026-W48"}


def test_the_sensor_adds_a_new_source_and_crawls_it(instance, tmp_path):
    instance.add_dynamic_partitions(source_partitions.name, ["welzijn-de-linde"])

    result = evaluate_sensor(instance, settings_for(tmp_path, "welzijn-de-linde", "ggd-lindewaard"))

    assert [r.partition_key for r in result.run_requests] == ["ggd-lindewaard"]
    add, delete = result.dynamic_partitions_requests
    assert add.partition_keys == ["ggd-lindewaard"] and delete.partition_keys == []


def test_the_sensor_removes_a_source_taken_out_of_the_file(instance, tmp_path):
    instance.add_dynamic_partitions(source_partitions.name, ["welzijn-de-linde", "ggd-lindewaard"])

    result = evaluate_sensor(instance, settings_for(tmp_path, "welzijn-de-linde"))

    assert result.run_requests == []
    add, delete = result.dynamic_partitions_requests
    assert add.partition_keys == [] and delete.partition_keys == ["ggd-lindewaard"]


def test_the_sensor_leaves_everything_as_it_is_when_the_file_has_a_mistake(instance, tmp_path):
    instance.add_dynamic_partitions(source_partitions.name, ["welzijn-de-linde"])
    settings = settings_for(tmp_path, "welzijn-de-linde")
    (tmp_path / "sources.yaml").write_text("sources:\n  - id: Welzijn!\n    kind: ftp\n", encoding="utf-8")

    result = evaluate_sensor(instance, settings)

    assert isinstance(result, dg.SkipReason)
    assert "source 'Welzijn!'" in result.skip_message and "kind" in result.skip_message


def test_the_daily_self_check_requests_one_run_a_day():
    morning = datetime(2026, 11, 24, 7, 0, tzinfo=ZoneInfo("Europe/Amsterdam"))

    request = daily_self_check(dg.build_schedule_context(scheduled_execution_time=morning))

    assert request.run_key == "self-check:2026-11-24"
    assert daily_self_check.job_name == "monitor_directory"
    assert daily_self_check.execution_timezone == "Europe/Amsterdam"


def run_self_check(instance, tmp_path, break_it: str | None = None) -> dg.AssetCheckEvaluation:
    """Publish the demo services, optionally break them with SQL, and run the daily job."""
    settings = ServicemapSettings(
        sources_path=settings_for(tmp_path, "welzijn-de-linde").sources_path,
        database_url=f"sqlite:///{tmp_path / 'directory.sqlite'}",
        work_dir=str(tmp_path),
    )
    publish_directory(settings.database_url, demo_service_list(), [], run_id="demo")
    if break_it:
        with engine_for(settings.database_url).begin() as db:
            db.exec_driver_sql(break_it)
    defs = dg.Definitions(
        assets=[*ingest_assets, *directory_assets],
        asset_checks=asset_checks,
        jobs=[monitor_directory],
        resources={"settings": settings},
    )
    result = defs.resolve_job_def("monitor_directory").execute_in_process(
        instance=instance, raise_on_error=False
    )
    [evaluation] = [
        e for e in result.get_asset_check_evaluations() if e.check_name == "directory_conforms_to_hsds"
    ]
    return evaluation


def test_the_self_check_passes_on_the_published_demo_directory(instance, tmp_path):
    evaluation = run_self_check(instance, tmp_path)

    assert evaluation.passed, evaluation.description
    assert evaluation.metadata["services checked through the API"].value == 6
    assert "conform to HSDS 3.0" in evaluation.description


def test_the_self_check_fails_on_a_broken_export_and_says_where(instance, tmp_path):
    evaluation = run_self_check(
        instance,
        tmp_path,
        break_it="update service set url = 'www.lindeloo' where name = 'Juridisch Spreekuur'",
    )

    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert "url: 'www.lindeloo'" in evaluation.description
    assert "**deviation**" in evaluation.metadata["endpoints and deviations"].value


DIRECTORY = {"rejected_records", "service_clusters", "directory_services", "classified_services"}
DIRECTORY |= {"source_health", "published_directory", "hsds_export"}


def ingested(instance, source_id: str, *assets: str) -> None:
    """A source's ingest assets as a finished run leaves them."""
    for asset in assets:
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=asset, partition=source_id))


def requested(result) -> set[str]:
    candidates = DIRECTORY | {"normalized_records", "validated_records"}
    return {asset for asset in candidates if result.get_num_requested(dg.AssetKey(asset))}


def test_automation_publishes_nothing_before_any_source_was_crawled(instance):
    instance.add_dynamic_partitions(source_partitions.name, ["gemeente-lindewaard", "welzijn-de-linde"])
    assert dg.evaluate_automation_conditions(defs=defs, instance=instance).total_requested == 0


def test_a_crawl_alone_first_brings_its_own_ingest_up_to_date(instance):
    instance.add_dynamic_partitions(source_partitions.name, ["gemeente-lindewaard"])
    first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    ingested(instance, "gemeente-lindewaard", "crawled_records")
    result = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)
    assert result.get_requested_partitions(dg.AssetKey("validated_records")) == {"gemeente-lindewaard"}
    # not yet the directory: it would merge the records the normaliser has not seen
    assert requested(result) == {"normalized_records", "validated_records", "source_health"}


def test_an_ingested_source_rebuilds_the_directory_once_even_while_another_never_crawled(instance):
    instance.add_dynamic_partitions(source_partitions.name, ["gemeente-lindewaard", "buurtwijzer-offline"])
    first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    ingested(instance, "gemeente-lindewaard", "crawled_records", "normalized_records", "validated_records")
    result = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)
    assert requested(result) == DIRECTORY
    again = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=result.cursor)
    assert again.total_requested == 0


def test_the_automation_sensor_is_on_as_soon_as_dagster_runs():
    sensor = defs.resolve_sensor_def("rebuild_changed_inputs")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    automated = {key.to_user_string() for key in sensor.asset_selection.resolve(defs.resolve_asset_graph())}
    assert DIRECTORY | {"normalized_records", "validated_records"} <= automated
