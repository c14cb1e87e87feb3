"""The schedule and the sources.yaml sensor, evaluated with Dagster's own test contexts."""

from datetime import datetime
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
import yaml

from pipelines.automation import sources_file_changed, weekly_recrawl
from pipelines.partitions import source_partitions
from pipelines.resources import ServicemapSettings


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
