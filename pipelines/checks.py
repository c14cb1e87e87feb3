"""Checks that guard publication: a failed blocking check stops the publish and leaves the
last good directory serving."""

import dagster as dg

from pipelines.assets.directory import classified_services
from servicemap.conservation import check_conservation
from servicemap.crawl import CrawlResult
from servicemap.records import ClassifiedService, Rejection


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
