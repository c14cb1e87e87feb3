"""Checks that guard publication: a failed blocking check stops the publish and leaves the
last good directory serving."""

import dagster as dg

from pipelines.assets.directory import classified_services, rejected_records
from pipelines.resources import ServicemapSettings
from servicemap.conservation import check_conservation
from servicemap.crawl import CrawlResult
from servicemap.records import ClassifiedService, Rejection
from servicemap.reporting import markdown_table
from servicemap.validate import Validation


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
    settings: ServicemapSettings, rejected_records: list[Rejection], validated_records: dict[str, Validation]
) -> dg.AssetCheckResult:
    """A source whose records are mostly rejected has changed or broken: do not publish its
    half-understood crawl over the last good directory."""
    rates = {source_id: v.result.rejection_rate for source_id, v in sorted(validated_records.items())}
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


@dg.asset_check(asset=rejected_records, additional_ins={"validated_records": dg.AssetIn()})
def expectation_suite_results(
    settings: ServicemapSettings, rejected_records: list[Rejection], validated_records: dict[str, Validation]
) -> dg.AssetCheckResult:
    """The GX suite over every source: an expectation that fails for a large share of the
    records points at a normaliser or a site change, not at a few bad pages."""
    failing: dict[str, int] = {}
    checked: dict[str, int] = {}
    reasons: dict[str, str] = {}
    for validation in validated_records.values():
        for outcome in validation.expectations:
            failing[outcome.name] = failing.get(outcome.name, 0) + outcome.unexpected_count
            checked[outcome.name] = checked.get(outcome.name, 0) + outcome.element_count
            reasons[outcome.name] = outcome.reason
    share = {name: failing[name] / checked[name] if checked[name] else 0.0 for name in failing}
    widespread = sorted(name for name, rate in share.items() if rate > settings.max_rejection_rate)
    return dg.AssetCheckResult(
        passed=not widespread,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"failing for many records: {', '.join(widespread)}"
        if widespread
        else "suite ran on every source",
        metadata={
            "sources validated": len(validated_records),
            "expectations": dg.MetadataValue.md(
                markdown_table(
                    ["expectation", "records failing", "records checked", "why it matters"],
                    [(name, failing[name], checked[name], reasons[name]) for name in sorted(failing)],
                )
            ),
        },
    )
