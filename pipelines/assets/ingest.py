"""Per-source assets: crawl, normalise, validate. One partition per source, so a broken site
fails alone and its failure shows in its own materialization."""

import time

import dagster as dg

from pipelines.partitions import source_partitions
from pipelines.resources import ServicemapSettings
from servicemap.crawl import CrawlResult, crawl_source
from servicemap.guards import CrawlSnapshot, crawl_changes
from servicemap.normalize import normalize_records
from servicemap.records import StageResult
from servicemap.reporting import markdown_table
from servicemap.validate import Validation, validate_records


@dg.asset(partitions_def=source_partitions, group_name="ingest", kinds={"scrapy"})
def crawled_records(
    context: dg.AssetExecutionContext, settings: ServicemapSettings
) -> dg.Output[CrawlResult]:
    """The raw records of one source, as its spider found them, with a record of every fetch."""
    source_id = context.partition_key
    [previous] = crawl_history(context.instance, source_id, limit=1) or [None]
    result = crawl_source(settings.sources_path, source_id, settings.work_path("crawl", source_id))
    if result.errors:
        context.log.warning(f"source {source_id!r}: {'; '.join(result.errors)}")
    snapshot = CrawlSnapshot.of(result)
    changes = crawl_changes(snapshot, previous, settings.max_service_drop) if previous else []
    return dg.Output(
        result,
        metadata={
            "source": source_id,
            "records": result.items,
            "records last crawl": previous.records if previous else "no earlier crawl",
            "pages fetched": result.pages_fetched,
            "not modified (304)": result.by_status().get(304, 0),
            "fetch errors": result.fetch_errors,
            "HTTP errors": snapshot.http_errors,
            "robots refusals": snapshot.robots_refusals,
            "robots.txt status": snapshot.robots_txt_status if snapshot.robots_txt_status else "not fetched",
            "changes since last crawl": "; ".join(changes) or ("none" if previous else "first crawl"),
            "duration (s)": round(result.duration_seconds, 2),
            "crawl": dg.MetadataValue.md(result.summary_markdown()),
            "fetches by status": dg.MetadataValue.md(
                markdown_table(["status", "count"], sorted(result.by_status().items()))
            ),
            "first fetch errors": dg.MetadataValue.md(
                markdown_table(
                    ["url", "kind", "error"],
                    [(f.url, f.error_kind, f.error) for f in result.failed_fetches()[:10]],
                )
            ),
            "process problems": "; ".join(result.errors) or "none",
            SNAPSHOT_KEY: dg.MetadataValue.json(snapshot.model_dump(mode="json")),
        },
    )


SNAPSHOT_KEY = "crawl snapshot"


def crawl_history(instance: dg.DagsterInstance, source_id: str, limit: int = 10) -> list[CrawlSnapshot]:
    """The snapshots of a source's last `limit` crawls, newest first, from the instance's event log:
    what freshness and source health compare against."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=crawled_records.key, asset_partitions=[source_id]), limit=limit
    ).records
    return [
        CrawlSnapshot.model_validate(metadata[SNAPSHOT_KEY].value)
        for record in records
        if record.asset_materialization is not None
        and SNAPSHOT_KEY in (metadata := record.asset_materialization.metadata)
    ]


@dg.asset(partitions_def=source_partitions, group_name="ingest")
def normalized_records(
    context: dg.AssetExecutionContext, settings: ServicemapSettings, crawled_records: CrawlResult
) -> dg.Output[StageResult]:
    """Crawled records with phones, postcodes, addresses, URLs, hours and text in one form."""
    started = time.monotonic()
    result = normalize_records(crawled_records.records, settings.load_sources())
    return dg.Output(result, metadata=_stage_metadata(context, result, started))


@dg.asset(partitions_def=source_partitions, group_name="ingest", kinds={"great_expectations"})
def validated_records(
    context: dg.AssetExecutionContext, settings: ServicemapSettings, normalized_records: StageResult
) -> dg.Output[Validation]:
    """Records that pass the expectation suite, with each expectation's outcome and the GX
    Data Docs of the batch; the rejected ones of this source and of normalisation travel
    along, so that crawled = kept + rejected holds per source."""
    started = time.monotonic()
    data_docs = settings.work_path("gx", context.partition_key)
    validation = validate_records(normalized_records.kept, data_docs_dir=data_docs)
    result = StageResult(
        kept=validation.result.kept, rejected=normalized_records.rejected + validation.result.rejected
    )
    metadata = _stage_metadata(context, result, started)
    metadata["expectations"] = dg.MetadataValue.md(validation.expectations_markdown())
    if validation.data_docs_index:
        metadata["data docs"] = dg.MetadataValue.path(str(validation.data_docs_index.resolve()))
    return dg.Output(validation.model_copy(update={"result": result}), metadata=metadata)


def _stage_metadata(context: dg.AssetExecutionContext, result: StageResult, started: float) -> dict:
    return {
        "source": context.partition_key,
        "kept": len(result.kept),
        "rejected": len(result.rejected),
        "duration (s)": round(time.monotonic() - started, 2),
        "rejections by reason": dg.MetadataValue.md(result.reasons_markdown()),
    }
