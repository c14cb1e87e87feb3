"""Whole-region assets: merge the sources' records into services, label them, publish them."""

import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TypeVar

import dagster as dg

from pipelines.assets.ingest import crawl_history
from pipelines.resources import ServicemapSettings
from servicemap.classify import classify_services, load_overrides, load_taxonomy
from servicemap.dedup import DedupResult, deduplicate
from servicemap.guards import SourceHealth, assess_sources, health_markdown
from servicemap.hsds import export_hsds
from servicemap.publish import PublishedVersion, publish_directory, published_membership
from servicemap.publish.versions import PublishOverride
from servicemap.records import ClassifiedService, DirectoryService, Rejection
from servicemap.reporting import markdown_table
from servicemap.validate import Validation

# Dagster hands a partitioned input to an unpartitioned asset as {partition: value} — but as
# the bare value when only one partition exists, and as None when there is none.
LOADED_BY_SOURCE = dg.AssetIn(dagster_type=dg.Any)
T = TypeVar("T")
LoadedValidations = dict[str, Validation] | Validation | None


def by_source(loaded: dict[str, T] | T | None, source_ids: Sequence[str]) -> dict[str, T]:
    """The sources' values of a per-source asset keyed by source, however many sources there are."""
    if loaded is None:
        return {}
    if isinstance(loaded, dict):
        return loaded
    [source_id] = source_ids
    return {source_id: loaded}


@dg.asset(group_name="directory", ins={"validated_records": LOADED_BY_SOURCE})
def rejected_records(
    context: dg.AssetExecutionContext, validated_records: LoadedValidations
) -> dg.Output[list[Rejection]]:
    """The quarantine: every record set aside by any stage, with its reason and raw form."""
    started = time.monotonic()
    validated_records = by_source(
        validated_records, context.asset_partition_keys_for_input("validated_records")
    )
    rejected = [
        r for source_id in sorted(validated_records) for r in validated_records[source_id].result.rejected
    ]
    reasons = Counter(r.reason for r in rejected)
    examples = {r.reason: r.url for r in reversed(rejected)}
    return dg.Output(
        rejected,
        metadata={
            "rejected": len(rejected),
            "duration (s)": _seconds_since(started),
            "by source": dg.MetadataValue.md(
                markdown_table(["source", "rejected"], Counter(r.source_id for r in rejected).most_common())
            ),
            "top rejection reasons": dg.MetadataValue.md(
                markdown_table(
                    ["reason", "count", "example"], [(k, n, examples[k]) for k, n in reasons.most_common(10)]
                )
            ),
        },
    )


@dg.asset(group_name="directory", kinds={"rapidfuzz"}, ins={"validated_records": LOADED_BY_SOURCE})
def service_clusters(
    context: dg.AssetExecutionContext, settings: ServicemapSettings, validated_records: LoadedValidations
) -> dg.Output[DedupResult]:
    """Records of all sources grouped into services; services keep their published ids."""
    started = time.monotonic()
    validated_records = by_source(
        validated_records, context.asset_partition_keys_for_input("validated_records")
    )
    records = [r for source_id in sorted(validated_records) for r in validated_records[source_id].result.kept]
    trust = {source.id: source.trust for source in settings.load_sources().sources}
    result = deduplicate(records, trust=trust, previous=published_membership(settings.database_url))
    return dg.Output(
        result,
        metadata={
            "records": len(records),
            "services": len(result.services),
            "duration (s)": _seconds_since(started),
            "pairs compared": result.pairs_compared,
            "pairs by blocking rule": dg.MetadataValue.md(
                markdown_table(["rule", "pairs"], sorted(result.blocking.items()))
            ),
            "uncertain pairs": len(result.uncertain),
            "uncertain merges to review": dg.MetadataValue.md(
                markdown_table(
                    ["record", "record", "score", "agreeing", "conflicts and reasons"],
                    [
                        (
                            e.a,
                            e.b,
                            f"{e.score:.1f}",
                            ", ".join(e.agreeing()),
                            "; ".join(e.conflicts + e.reasons),
                        )
                        for e in result.uncertain[:10]
                    ],
                )
            ),
            "id changes (splits and merges)": len(result.splits_and_merges),
        },
    )


@dg.asset(group_name="directory")
def directory_services(service_clusters: DedupResult) -> dg.Output[list[DirectoryService]]:
    """One golden record per service, each field with the record and URL it came from."""
    started = time.monotonic()
    services = service_clusters.services
    sizes = Counter(len(s.members) for s in services)
    return dg.Output(
        services,
        metadata={
            "services": len(services),
            "duration (s)": _seconds_since(started),
            "services by number of source records": dg.MetadataValue.md(
                markdown_table(["records", "services"], sorted(sizes.items()))
            ),
        },
    )


@dg.asset(group_name="directory")
def classified_services(directory_services: list[DirectoryService]) -> dg.Output[list[ClassifiedService]]:
    """Services labelled with their life domains and facets, each label with its evidence."""
    started = time.monotonic()
    taxonomy = load_taxonomy()
    services = classify_services(directory_services, taxonomy, overrides=load_overrides(taxonomy))
    return dg.Output(
        services,
        metadata={
            "services": len(services),
            "duration (s)": _seconds_since(started),
            **label_distribution(services),
        },
    )


@dg.asset(group_name="directory", deps=["crawled_records"])
def source_health(
    context: dg.AssetExecutionContext, settings: ServicemapSettings
) -> dg.Output[list[SourceHealth]]:
    """Each source's last successful crawl against its freshness policy, and its yield, HTTP
    errors and robots.txt answers compared with the crawl before: a site that changed shows here
    before its services go stale."""
    started = time.monotonic()
    sources = settings.load_sources().enabled
    history = {source.id: crawl_history(context.instance, source.id) for source in sources}
    health = assess_sources(sources, history, datetime.now(UTC), settings.max_service_drop)
    return dg.Output(
        health,
        metadata={
            "sources": len(health),
            "stale": sum(h.stale for h in health),
            "sources with changes": sum(bool(h.changes) for h in health),
            "duration (s)": _seconds_since(started),
            "yield, HTTP errors and robots vs the crawl before": dg.MetadataValue.md(health_markdown(health)),
        },
    )


@dg.asset(group_name="publish", kinds={"sqlite", "postgres"})
def published_directory(
    context: dg.AssetExecutionContext,
    settings: ServicemapSettings,
    classified_services: list[ClassifiedService],
    rejected_records: list[Rejection],
) -> dg.Output[PublishedVersion]:
    """The directory as readers see it: a new version, made current in one transaction. It runs
    only when the blocking checks passed, or failed and were overridden: then the override is
    recorded in the version row."""
    started = time.monotonic()
    overridden = overridden_checks(context)
    version = publish_directory(
        settings.database_url,
        classified_services,
        rejected_records,
        context.run.run_id,
        synonyms=load_taxonomy().synonyms,
        override=PublishOverride(reason=settings.override_reason, checks=overridden) if overridden else None,
    )
    return dg.Output(
        version,
        metadata={
            "version": version.id,
            "duration (s)": _seconds_since(started),
            "overridden checks": ", ".join(overridden) or "none",
            "override reason": version.override_reason or "none",
            "services": version.services,
            "organizations": version.organizations,
            "source records": version.source_records,
            "rejected records": version.rejected,
            **label_distribution(classified_services),
        },
    )


@dg.asset(group_name="publish")
def hsds_export(settings: ServicemapSettings, published_directory: PublishedVersion) -> dg.MaterializeResult:
    """The current directory as an Open Referral HSDS 3.0 JSON file and tabular data package."""
    started = time.monotonic()
    summary = export_hsds(settings.database_url, settings.work_path("export", "hsds"))
    return dg.MaterializeResult(
        metadata={
            "directory version": published_directory.id,
            "services": summary.services,
            "duration (s)": _seconds_since(started),
            "files": dg.MetadataValue.md(markdown_table(["file"], [(f,) for f in summary.files])),
        }
    )


def label_distribution(services: list[ClassifiedService]) -> dict[str, dg.MetadataValue]:
    """How many services carry each life domain: the table an operator scans for surprises."""
    counts = Counter(
        (label.term, label.term_label)
        for s in services
        for label in s.labels
        if label.taxonomy == "life_domain"
    )
    unlabelled = sum(1 for s in services if not s.terms("life_domain"))
    rows = [(term, label, n) for (term, label), n in counts.most_common()] + [("(none)", "", unlabelled)]
    return {
        "services by life domain": dg.MetadataValue.md(markdown_table(["domain", "label", "services"], rows))
    }


# Set in a blocking check's metadata when the operator's override turned its failure into a warning.
OVERRIDE_KEY = "overridden by the operator"


def overridden_checks(context: dg.AssetExecutionContext) -> list[str]:
    """The blocking checks of this run that failed and were overridden, from the run's event log."""
    records = context.instance.get_records_for_run(
        context.run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
    ).records
    evaluations = [r.event_log_entry.dagster_event.event_specific_data for r in records]
    return sorted({e.check_name for e in evaluations if not e.passed and OVERRIDE_KEY in e.metadata})


def _seconds_since(started: float) -> float:
    return round(time.monotonic() - started, 2)
