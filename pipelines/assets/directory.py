"""Whole-region assets: merge the sources' records into services, label them, publish them."""

from collections import Counter

import dagster as dg

from pipelines.resources import ServicemapSettings
from servicemap.classify import classify_services, load_overrides, load_taxonomy
from servicemap.dedup import DedupResult, deduplicate
from servicemap.hsds import export_hsds
from servicemap.publish import PublishedVersion, publish_directory, published_membership
from servicemap.records import ClassifiedService, DirectoryService, Rejection
from servicemap.reporting import markdown_table
from servicemap.validate import Validation


@dg.asset(group_name="directory")
def rejected_records(
    validated_records: dict[str, Validation],
) -> dg.Output[list[Rejection]]:
    """The quarantine: every record set aside by any stage, with its reason and raw form."""
    rejected = [
        r for source_id in sorted(validated_records) for r in validated_records[source_id].result.rejected
    ]
    reasons = Counter(r.reason for r in rejected)
    examples = {r.reason: r.url for r in reversed(rejected)}
    return dg.Output(
        rejected,
        metadata={
            "rejected": len(rejected),
            "by source": dg.MetadataValue.md(
                markdown_table(["source", "rejected"], Counter(r.source_id for r in rejected).most_common())
            ),
            "by reason": dg.MetadataValue.md(
                markdown_table(
                    ["reason", "count", "example"], [(k, n, examples[k]) for k, n in reasons.most_common()]
                )
            ),
        },
    )


@dg.asset(group_name="directory", kinds={"rapidfuzz"})
def service_clusters(
    settings: ServicemapSettings, validated_records: dict[str, Validation]
) -> dg.Output[DedupResult]:
    """Records of all sources grouped into services; services keep their published ids."""
    records = [r for source_id in sorted(validated_records) for r in validated_records[source_id].result.kept]
    trust = {source.id: source.trust for source in settings.load_sources().sources}
    result = deduplicate(records, trust=trust, previous=published_membership(settings.database_url))
    return dg.Output(
        result,
        metadata={
            "records": len(records),
            "services": len(result.services),
            "pairs compared": result.pairs_compared,
            "pairs by blocking rule": dg.MetadataValue.md(
                markdown_table(["rule", "pairs"], sorted(result.blocking.items()))
            ),
            "uncertain pairs": len(result.uncertain),
            "id changes (splits and merges)": len(result.splits_and_merges),
        },
    )


@dg.asset(group_name="directory")
def directory_services(service_clusters: DedupResult) -> dg.Output[list[DirectoryService]]:
    """One golden record per service, each field with the record and URL it came from."""
    services = service_clusters.services
    sizes = Counter(len(s.members) for s in services)
    return dg.Output(
        services,
        metadata={
            "services": len(services),
            "services by number of source records": dg.MetadataValue.md(
                markdown_table(["records", "services"], sorted(sizes.items()))
            ),
        },
    )


@dg.asset(group_name="directory")
def classified_services(directory_services: list[DirectoryService]) -> dg.Output[list[ClassifiedService]]:
    """Services labelled with their life domains and facets, each label with its evidence."""
    taxonomy = load_taxonomy()
    services = classify_services(directory_services, taxonomy, overrides=load_overrides(taxonomy))
    return dg.Output(services, metadata={"services": len(services), **label_distribution(services)})


@dg.asset(group_name="publish", kinds={"sqlite", "postgres"})
def published_directory(
    context: dg.AssetExecutionContext,
    settings: ServicemapSettings,
    classified_services: list[ClassifiedService],
    rejected_records: list[Rejection],
) -> dg.Output[PublishedVersion]:
    """The directory as readers see it: a new version, made current in one transaction."""
    version = publish_directory(
        settings.database_url,
        classified_services,
        rejected_records,
        context.run.run_id,
        synonyms=load_taxonomy().synonyms,
    )
    return dg.Output(
        version,
        metadata={
            "version": version.id,
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
    summary = export_hsds(settings.database_url, settings.work_path("export", "hsds"))
    return dg.MaterializeResult(
        metadata={
            "directory version": published_directory.id,
            "services": summary.services,
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
