"""Runs the whole flow through Dagster for the command line and the tests: each source as
its own partition run, then the directory run over all of them."""

from __future__ import annotations

import dagster as dg

from pipelines.definitions import asset_checks, directory_assets, ingest_assets
from pipelines.partitions import partition_changes, source_partitions
from pipelines.resources import ServicemapSettings
from servicemap.summary import RunSummary, summarize_run


class PipelineFailed(RuntimeError):
    """The directory run failed or was blocked: the last good directory keeps serving."""


def sync_source_partitions(instance: dg.DagsterInstance, source_ids: list[str]) -> None:
    """Make the instance's source partitions exactly the enabled sources of sources.yaml."""
    added, removed = partition_changes(instance.get_dynamic_partitions(source_partitions.name), source_ids)
    for stale in removed:
        instance.delete_dynamic_partition(source_partitions.name, stale)
    instance.add_dynamic_partitions(source_partitions.name, added)


def run_pipeline(
    settings: ServicemapSettings, instance: dg.DagsterInstance, progress=None, log_level: str = "WARNING"
) -> RunSummary:
    """Crawl every enabled source, then merge, classify and publish; `progress(source_id)` is
    called as each source starts. A broken source shows in the summary, the others go on.
    Dagster's own log lines below `log_level` stay in the run's event log, off the console."""
    sources = settings.load_sources()  # a wrong sources.yaml is refused before any request
    source_ids = [source.id for source in sources.enabled]
    sync_source_partitions(instance, source_ids)
    all_assets = [*ingest_assets, *directory_assets]
    resources = {"settings": settings}
    run_config = {"loggers": {"console": {"config": {"log_level": log_level}}}}
    crawls, validated = {}, {}
    for source_id in source_ids:
        if progress:
            progress(source_id)
        result = dg.materialize(
            all_assets,
            selection=ingest_assets,
            partition_key=source_id,
            instance=instance,
            resources=resources,
            run_config=run_config,
            raise_on_error=False,
        )
        crawls[source_id] = _value(result, "crawled_records")
        validation = _value(result, "validated_records")
        validated[source_id] = validation.result if validation else None
    if progress:
        progress("directory")
    result = materialize_directory(settings, instance, run_config)
    if not result.success:
        raise PipelineFailed(f"the directory run {result.run_id} failed: {_failure(result)}")
    version = result.asset_value("published_directory")
    return summarize_run(crawls, validated, result.asset_value("classified_services"), version.id)


def materialize_directory(
    settings: ServicemapSettings, instance: dg.DagsterInstance, run_config: dict | None = None
) -> dg.ExecuteInProcessResult:
    """The directory run over the sources' stored ingest results, with every check: a failed
    blocking check stops the publish, and the result says so instead of raising."""
    return dg.materialize(
        [*ingest_assets, *directory_assets, *asset_checks],
        selection=directory_assets,
        instance=instance,
        resources={"settings": settings},
        run_config=run_config,
        raise_on_error=False,
    )


def _value(result: dg.ExecuteInProcessResult, asset: str):
    try:
        return result.asset_value(asset)
    except Exception:  # the step failed: its error is in the run's event log
        return None


def _failure(result: dg.ExecuteInProcessResult) -> str:
    failed = [
        f"{event.step_key}: {event.event_specific_data.error.message.strip()}"
        for event in result.all_events
        if event.is_step_failure
    ]
    blocked = [
        f"check {evaluation.check_name} failed: {evaluation.description}"
        for evaluation in result.get_asset_check_evaluations()
        if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR
    ]
    return "; ".join(failed + blocked) or "see the run in the Dagster UI"
