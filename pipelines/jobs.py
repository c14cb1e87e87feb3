"""The two jobs an operator launches: one source's ingest, and the directory over all sources."""

import dagster as dg

from pipelines.partitions import source_partitions

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
