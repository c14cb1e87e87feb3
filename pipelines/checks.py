"""Checks that guard publication: a failed blocking check stops the publish and leaves the
last good directory serving, unless the operator overrides it (`override_checks` with a
reason), which the published version records. The checks on source health and on the
published API run after the publish and alert without blocking."""

import tempfile
from pathlib import Path

import dagster as dg

from pipelines.assets.directory import (
    LOADED_BY_SOURCE,
    OVERRIDE_KEY,
    LoadedValidations,
    by_source,
    classified_services,
    hsds_export,
    rejected_records,
    source_health,
)
from pipelines.resources import ServicemapSettings
from servicemap import guards
from servicemap.conservation import check_conservation
from servicemap.crawl import CrawlResult
from servicemap.publish import NoDirectoryPublished
from servicemap.records import ClassifiedService, Rejection
from servicemap.reporting import markdown_table


def blocking_result(
    settings: ServicemapSettings, passed: bool, description: str, metadata: dict
) -> dg.AssetCheckResult:
    """A failure of ERROR severity blocks the assets downstream; an operator's override makes it a
    warning that still shows as failed, with the reason, and is recorded by the publish."""
    if passed or not settings.override_checks:
        return dg.AssetCheckResult(
            passed=passed, severity=dg.AssetCheckSeverity.ERROR, description=description, metadata=metadata
        )
    return dg.AssetCheckResult(
        passed=False,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"overridden ({settings.override_reason.strip()}): {description}",
        metadata={**metadata, OVERRIDE_KEY: settings.override_reason.strip()},
    )


def guard_metadata(result: guards.GuardResult, table_title: str) -> dict:
    return {**result.figures, table_title: dg.MetadataValue.md(result.table)}


@dg.asset_check(
    asset=classified_services,
    blocking=True,
    additional_ins={"crawled_records": LOADED_BY_SOURCE, "rejected_records": dg.AssetIn()},
)
def records_conserved(
    context: dg.AssetCheckExecutionContext,
    settings: ServicemapSettings,
    classified_services: list[ClassifiedService],
    crawled_records: dict[str, CrawlResult] | CrawlResult | None,
    rejected_records: list[Rejection],
) -> dg.AssetCheckResult:
    """Every crawled record is in one service's lineage or in the rejected records, once."""
    crawled_records = by_source(
        crawled_records, context.op_execution_context.asset_partition_keys_for_input("crawled_records")
    )
    crawled_ids = [r.record_id for result in crawled_records.values() for r in result.records]
    conservation = check_conservation(crawled_ids, classified_services, rejected_records)
    return blocking_result(
        settings,
        conservation.holds,
        conservation.equation(),
        {
            "crawled": conservation.crawled,
            "published members": conservation.published,
            "rejected": conservation.rejected,
            "lost": ", ".join(conservation.lost[:20]) or "none",
            "duplicated": ", ".join(conservation.duplicated[:20]) or "none",
            "unknown": ", ".join(conservation.unknown[:20]) or "none",
        },
    )


@dg.asset_check(asset=rejected_records, blocking=True, additional_ins={"validated_records": LOADED_BY_SOURCE})
def rejection_rate_within_limit(
    context: dg.AssetCheckExecutionContext,
    settings: ServicemapSettings,
    rejected_records: list[Rejection],
    validated_records: LoadedValidations,
) -> dg.AssetCheckResult:
    """A source whose records are mostly rejected has changed or broken: do not publish its
    half-understood crawl over the last good directory."""
    validated_records = by_source(
        validated_records, context.op_execution_context.asset_partition_keys_for_input("validated_records")
    )
    rates = {source_id: v.result.rejection_rate for source_id, v in sorted(validated_records.items())}
    over = {source_id: rate for source_id, rate in rates.items() if rate > settings.max_rejection_rate}
    return blocking_result(
        settings,
        not over,
        (
            f"sources over the {settings.max_rejection_rate:.0%} limit: "
            + ", ".join(f"{source_id} ({rate:.0%} rejected)" for source_id, rate in over.items())
            if over
            else f"every source within {settings.max_rejection_rate:.0%} rejected"
        ),
        {
            "limit": settings.max_rejection_rate,
            "rejected": len(rejected_records),
            "rate by source": dg.MetadataValue.md(
                markdown_table(["source", "rejection rate"], [(k, f"{v:.1%}") for k, v in rates.items()])
            ),
        },
    )


@dg.asset_check(asset=rejected_records, blocking=True, additional_ins={"validated_records": LOADED_BY_SOURCE})
def expectation_suite_results(
    context: dg.AssetCheckExecutionContext,
    settings: ServicemapSettings,
    rejected_records: list[Rejection],
    validated_records: LoadedValidations,
) -> dg.AssetCheckResult:
    """The GX suite over every source: an expectation that fails for more than the rejection
    limit's share of the records is severe (a normaliser or a site changed, not a few bad
    pages) and blocks the publish."""
    validated_records = by_source(
        validated_records, context.op_execution_context.asset_partition_keys_for_input("validated_records")
    )
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
    return blocking_result(
        settings,
        not widespread,
        (
            f"failing for more than {settings.max_rejection_rate:.0%} of the records: "
            + ", ".join(f"{name} ({share[name]:.0%})" for name in widespread)
            if widespread
            else f"suite ran on every source; no expectation fails for over {settings.max_rejection_rate:.0%}"
        ),
        {
            "sources validated": len(validated_records),
            "expectations": dg.MetadataValue.md(
                markdown_table(
                    ["expectation", "records failing", "records checked", "why it matters"],
                    [(name, failing[name], checked[name], reasons[name]) for name in sorted(failing)],
                )
            ),
        },
    )


@dg.asset_check(asset=classified_services, blocking=True)
def services_not_dropped(
    settings: ServicemapSettings, classified_services: list[ClassifiedService]
) -> dg.AssetCheckResult:
    """A source, or the whole directory, that loses more than `max_service_drop` of the services
    it has in the published version is a broken crawl (a redesign, half a feed), not news."""
    result = guards.services_not_dropped(
        guards.published_service_counts(settings.database_url),
        guards.ServiceCounts.of(classified_services),
        [source.id for source in settings.load_sources().enabled],
        settings.max_service_drop,
    )
    return blocking_result(
        settings, result.passed, result.description, guard_metadata(result, "services per source")
    )


@dg.asset_check(asset=classified_services, blocking=True)
def enough_services_reachable(
    settings: ServicemapSettings, classified_services: list[ClassifiedService]
) -> dg.AssetCheckResult:
    """At least `min_reachable_share` of the services have a phone or an address: without them a
    professional cannot refer anyone, whatever else the directory says."""
    result = guards.enough_services_reachable(classified_services, settings.min_reachable_share)
    return blocking_result(
        settings, result.passed, result.description, guard_metadata(result, "reachable services per source")
    )


@dg.asset_check(asset=source_health)
def sources_fresh(source_health: list[guards.SourceHealth]) -> dg.AssetCheckResult:
    """Every source had a successful crawl within its `max_age_days` (sources.yaml); a stale
    source's services are no longer verified by re-crawls. An alert: it does not block."""
    result = guards.sources_fresh(source_health)
    return dg.AssetCheckResult(
        passed=result.passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=result.description,
        metadata=guard_metadata(result, "last successful crawl per source"),
    )


@dg.asset_check(asset=hsds_export)
def directory_conforms_to_hsds(settings: ServicemapSettings) -> dg.AssetCheckResult:
    """The published directory as a validator of the standard sees it: its export against the
    HSDS 3.0 schemas, and the API's `/`, `/services` and `/services/{id}` answers."""
    try:
        with tempfile.TemporaryDirectory(dir=settings.work_path("conformance")) as export_dir:
            conformance = guards.check_conformance(settings.database_url, Path(export_dir))
    except NoDirectoryPublished as exc:
        return dg.AssetCheckResult(
            passed=False, severity=dg.AssetCheckSeverity.ERROR, description=f"nothing to check: {exc}"
        )
    result = guards.conformance_result(conformance)
    return dg.AssetCheckResult(
        passed=result.passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=result.description,
        metadata=guard_metadata(result, "endpoints and deviations"),
    )
