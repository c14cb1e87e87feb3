"""The Dagster code location of servicemap: `dagster dev` in the repository root loads it."""

import dagster as dg

from pipelines.assets import directory, ingest, reports
from pipelines.automation import (
    REBUILD_WHEN_INPUTS_CHANGE,
    daily_self_check,
    monitor_directory,
    rebuild_changed_inputs,
    sources_file_changed,
    weekly_recrawl,
)
from pipelines.checks import (
    directory_conforms_to_hsds,
    enough_services_reachable,
    expectation_suite_results,
    records_conserved,
    rejection_rate_within_limit,
    services_not_dropped,
    sources_fresh,
)
from pipelines.executors import servicemap_executor
from pipelines.jobs import build_directory, ingest_sources
from pipelines.resources import ServicemapSettings

ingest_assets = dg.load_assets_from_modules([ingest], automation_condition=REBUILD_WHEN_INPUTS_CHANGE)
directory_assets = dg.load_assets_from_modules([directory], automation_condition=REBUILD_WHEN_INPUTS_CHANGE)
asset_checks = [
    records_conserved,
    rejection_rate_within_limit,
    expectation_suite_results,
    services_not_dropped,
    enough_services_reachable,
    sources_fresh,
    directory_conforms_to_hsds,
]

defs = dg.Definitions(
    assets=[*ingest_assets, *directory_assets, reports.problem_reports],
    asset_checks=asset_checks,
    jobs=[ingest_sources, build_directory, monitor_directory],
    schedules=[weekly_recrawl, daily_self_check],
    sensors=[sources_file_changed, rebuild_changed_inputs],
    executor=servicemap_executor,
    resources={
        "settings": ServicemapSettings(
            sources_path=dg.EnvVar("SERVICEMAP_SOURCES"),
            database_url=dg.EnvVar("SERVICEMAP_DATABASE_URL"),
            work_dir=dg.EnvVar("SERVICEMAP_WORK_DIR"),
        )
    },
)
