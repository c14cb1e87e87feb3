"""The Dagster code location of servicemap: `dagster dev` in the repository root loads it."""

import dagster as dg

from pipelines.assets import directory, ingest
from pipelines.checks import records_conserved
from pipelines.partitions import source_partitions
from pipelines.resources import ServicemapSettings

ingest_assets = dg.load_assets_from_modules([ingest])
directory_assets = dg.load_assets_from_modules([directory])

ingest_sources = dg.define_asset_job(
    "ingest_sources",
    selection=dg.AssetSelection.groups("ingest"),
    partitions_def=source_partitions,
    description="Crawl, normalise and validate one source (one run per source partition).",
)
build_directory = dg.define_asset_job(
    "build_directory",
    selection=dg.AssetSelection.groups("directory", "publish"),
    description="Merge all sources' records, classify, publish and export the directory.",
)

defs = dg.Definitions(
    assets=[*ingest_assets, *directory_assets],
    asset_checks=[records_conserved],
    jobs=[ingest_sources, build_directory],
    resources={
        "settings": ServicemapSettings(
            sources_path=dg.EnvVar("SERVICEMAP_SOURCES"),
            database_url=dg.EnvVar("SERVICEMAP_DATABASE_URL"),
            work_dir=dg.EnvVar("SERVICEMAP_WORK_DIR"),
        )
    },
)
