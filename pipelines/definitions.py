"""The Dagster code location of servicemap: `dagster dev` in the repository root loads it."""

import dagster as dg

from pipelines.assets import directory, ingest
from pipelines.automation import sources_file_changed, weekly_recrawl
from pipelines.checks import expectation_suite_results, records_conserved, rejection_rate_within_limit
from pipelines.jobs import build_directory, ingest_sources
from pipelines.resources import ServicemapSettings

ingest_assets = dg.load_assets_from_modules([ingest])
directory_assets = dg.load_assets_from_modules([directory])
asset_checks = [records_conserved, rejection_rate_within_limit, expectation_suite_results]

defs = dg.Definitions(
    assets=[*ingest_assets, *directory_assets],
    asset_checks=asset_checks,
    jobs=[ingest_sources, build_directory],
    schedules=[weekly_recrawl],
    sensors=[sources_file_changed],
    resources={
        "settings": ServicemapSettings(
            sources_path=dg.EnvVar("SERVICEMAP_SOURCES"),
            database_url=dg.EnvVar("SERVICEMAP_DATABASE_URL"),
            work_dir=dg.EnvVar("SERVICEMAP_WORK_DIR"),
        )
    },
)
