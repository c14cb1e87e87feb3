"""Checks that guard publication: a failed blocking check stops the publish and leaves the
last good directory serving."""

import dagster as dg

from pipelines.assets.directory import classified_services, rejected_records
from pipelines.resources import ServicemapSettings
from servicemap.conservation import check_conservation
from servicemap.crawl import CrawlResult
from servicemap.records import ClassifiedService, Rejection, StageResult
from servicemap.reporting import markdown_table


@dg.asset_check(
    asset=classified_services,
    blocking=True,
    additional_ins={"crawled_records": dg.AssetIn(), "rejected_records": dg.AssetIn()},
)
def records_conserved(
    classified_services: list[ClassifiedService],
    crawled_records: dict[str, CrawlResult],
    rejected_records: list[Rejection],
) -> dg.AssetCheckResult:
    """Every crawled record is in one service's lineage or in the rejected records, once."""
    crawled_ids = [r.record_id for result in crawled_records.values() for r in result.records]
    conservation = check_conservation(crawled_ids, classified_services, rejected_records)
    return dg.AssetCheckResult(
        passed=conservation.holds,
        severity=dg.AssetCheckSeverity.ERROR,
        description=conservation.equation(),
        metadata={
            "crawled": conservation.crawled,
            "published members": conservation.published,
            "rejected": conservation.rejected,
            "lost": ", ".join(conservation.lost[:20]) or "none",
            "duplicated": ", ".join(conservation.duplicated[:20]) or "none",
            "unknown": ", ".join(conservation.unknown[:20]) or "none",
        },
    )


@dg.asset_check(asset=rejected_records, blocking=True, additional_ins={"validated_records": dg.AssetIn()})
def rejection_rate_within_limit(
    settings: ServicemapSettings, rejected_records: list[Rejection], validated_records: dict[str, StageResult]
) -> dg.AssetCheckResult:
    """A source whose records are mostly rejected has changed or broken: do not publish its
    half-understood crawl over the last good directory."""
    rates = {source_id: result.rejection_rate for source_id, result in sorted(validated_records.items())}
    over = {source_id: rate for source_id, rate in rates.items() if rate > settings.max_rejection_rate}
    return dg.AssetCheckResult(
        passed=not over,
        severity=dg.AssetCheckSeverity.ERROR,
        description=(
            f"sources over the {settings.max_rejection_rate:.0%} limit: {', '.join(over)}"
            if over
            else f"every source within {settings.max_rejection_rate:.0%} rejected"
        ),
        metadata={
            "limit": settings.max_rejection_rate,
            "rejected": len(rejected_records),
            "rate by source": dg.MetadataValue.md(
                markdown_table(["source", "rejection rate"], [(k, f"{v:.1%}") for k, v in rates.items()])
            ),
        },
    )
