"""When the pipeline runs by itself: a weekly re-crawl, a sensor that keeps the source
partitions equal to sources.yaml and crawls a source as soon as it is added, declarative
automation that rebuilds what depends on a changed input, and a daily self-check of the
sources' freshness and of the published API and export."""

import hashlib
from pathlib import Path

import dagster as dg

from pipelines.checks import directory_conforms_to_hsds
from pipelines.jobs import ingest_sources
from pipelines.partitions import partition_changes, source_partitions
from pipelines.resources import ServicemapSettings
from servicemap.sources import SourcesConfigError

WEEKLY_RECRAWL_CRON = "0 4 * * 1"  # Monday 04:00, when the region's sites are quiet
DAILY_SELF_CHECK_CRON = "0 7 * * *"  # 07:00, before the first professionals search

# Dagster's `eager()` without its "no input missing" and "build what is missing" parts: a
# source that never crawled must not hold the directory back, and an empty instance must not
# publish an empty directory. The directory waits until no source is still being crawled, so
# a weekly re-crawl of every source gives one rebuild, not one per source.
REBUILD_WHEN_INPUTS_CHANGE = (
    dg.AutomationCondition.any_deps_updated().since_last_handled()
    & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
).with_label("rebuild when an input changed, once no input is still being built")

monitor_directory = dg.define_asset_job(
    "monitor_directory",
    selection=dg.AssetSelection.assets("source_health")
    | dg.AssetSelection.checks(directory_conforms_to_hsds),
    description="Sources' freshness and health, and the published API and export against HSDS 3.0.",
)


rebuild_changed_inputs = dg.AutomationConditionSensorDefinition(
    "rebuild_changed_inputs",
    target=dg.AssetSelection.groups("ingest", "directory", "publish"),
    default_status=dg.DefaultSensorStatus.RUNNING,  # Dagster's default automation sensor starts stopped
    minimum_interval_seconds=60,
    description="Evaluates REBUILD_WHEN_INPUTS_CHANGE: after crawls, the ingest and then the directory.",
)


@dg.schedule(job=ingest_sources, cron_schedule=WEEKLY_RECRAWL_CRON, execution_timezone="Europe/Amsterdam")
def weekly_recrawl(context: dg.ScheduleEvaluationContext):
    """Re-crawl every source: verification dates come from real re-crawls."""
    week = context.scheduled_execution_time.strftime("%G-W%V")
    return [
        dg.RunRequest(partition_key=source_id, run_key=f"{source_id}:{week}")
        for source_id in context.instance.get_dynamic_partitions(source_partitions.name)
    ]


@dg.sensor(job=ingest_sources, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING)
def sources_file_changed(context: dg.SensorEvaluationContext, settings: ServicemapSettings):
    """Add and remove source partitions as sources.yaml changes, and crawl the new sources. A
    sources file with mistakes changes nothing and says why."""
    path = Path(settings.sources_path)
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        sources = settings.load_sources()
    except (OSError, SourcesConfigError) as exc:
        return dg.SkipReason(f"sources file not used: {exc}")
    known = context.instance.get_dynamic_partitions(source_partitions.name)
    added, removed = partition_changes(known, [s.id for s in sources.enabled])
    if not added and not removed:
        return dg.SkipReason(f"{path}: the {len(known)} source partitions match the file")
    return dg.SensorResult(
        run_requests=[dg.RunRequest(partition_key=s, run_key=f"{s}:{digest}") for s in added],
        dynamic_partitions_requests=[
            source_partitions.build_add_request(added),
            source_partitions.build_delete_request(removed),
        ],
        cursor=digest,
    )


@dg.schedule(
    job=monitor_directory, cron_schedule=DAILY_SELF_CHECK_CRON, execution_timezone="Europe/Amsterdam"
)
def daily_self_check(context: dg.ScheduleEvaluationContext):
    """Once a day, whether or not anything was published: a source goes stale and a published
    directory can stop conforming (a changed API, a bad row) between re-crawls."""
    return dg.RunRequest(run_key=f"self-check:{context.scheduled_execution_time:%Y-%m-%d}")
