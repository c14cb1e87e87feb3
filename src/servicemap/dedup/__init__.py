"""Deduplication: one published service per real-world service, from records of all sources.

`deduplicate` runs blocking, scoring, clustering, golden records and stable ids in that order;
each step is its own module so that it can be tested and explained alone."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from pydantic import BaseModel, Field

from servicemap.dedup.blocking import candidate_pairs
from servicemap.dedup.clustering import cluster_matches
from servicemap.dedup.evaluate import MergeScores, pairwise_scores, service_clusters, truth_clusters
from servicemap.dedup.golden import golden_record
from servicemap.dedup.identity import IdChange, assign_ids
from servicemap.dedup.scoring import (
    DedupSettings,
    DedupSettingsError,
    PairExplanation,
    explain_pair,
    load_dedup_settings,
    mark_shared_contacts,
    prepare,
    score_pairs,
)
from servicemap.records import DirectoryService, NormalizedRecord

__all__ = [
    "DedupResult",
    "DedupSettings",
    "DedupSettingsError",
    "DuplicateRecordId",
    "IdChange",
    "MergeScores",
    "PairExplanation",
    "deduplicate",
    "explain_pair",
    "load_dedup_settings",
    "pairwise_scores",
    "service_clusters",
    "truth_clusters",
]


class DuplicateRecordId(ValueError):
    """Two input records share a record id, so lineage could not tell them apart."""


class DedupResult(BaseModel):
    """Services with their members (every input record in exactly one), and what decided them."""

    services: list[DirectoryService]
    blocking: dict[str, int]
    pairs_compared: int
    matches: list[PairExplanation] = Field(default_factory=list)
    uncertain: list[PairExplanation] = Field(default_factory=list)
    splits_and_merges: list[IdChange] = Field(default_factory=list)
    windowed_blocks: dict[str, int] = Field(default_factory=dict)

    @property
    def member_count(self) -> int:
        """Records behind the published services: equals the input count (conservation)."""
        return sum(len(s.members) for s in self.services)


def deduplicate(
    records: list[NormalizedRecord],
    trust: dict[str, float] | None = None,
    previous: dict[str, list[str]] | None = None,
    settings: DedupSettings | None = None,
) -> DedupResult:
    """Group records of one service and build its golden record.

    `trust` is each source's `trust` from sources.yaml; `previous` is {service_id: member
    record ids} of the last publish, so that services keep their ids."""
    settings = settings or load_dedup_settings()
    repeated = sorted(r for r, n in Counter(r.record_id for r in records).items() if n > 1)
    if repeated:
        raise DuplicateRecordId(f"record ids {repeated[:10]} occur more than once (expected each once)")
    features = mark_shared_contacts([prepare(record, settings) for record in records])
    blocking = candidate_pairs(features, settings)
    scored = score_pairs(features, blocking.pairs, settings)
    clustering = cluster_matches(features, scored)
    clusters = [[records[i] for i in cluster] for cluster in clustering.clusters]
    ids, changes = assign_ids([[r.record_id for r in c] for c in clusters], previous)
    services = [
        golden_record(service_id, members, trust or {}, settings.default_trust)
        for service_id, members in zip(ids, clusters, strict=True)
    ]
    explanations = [e for _, _, e in scored]
    return DedupResult(
        services=services,
        blocking=blocking.pairs_by_rule,
        pairs_compared=len(blocking.pairs),
        matches=_strongest_first(clustering.followed),
        uncertain=_strongest_first(
            [*(e for e in explanations if e.decision == "uncertain"), *clustering.refused]
        ),
        splits_and_merges=changes,
        windowed_blocks=blocking.windowed_blocks,
    )


def _strongest_first(explanations: Iterable[PairExplanation]) -> list[PairExplanation]:
    return sorted(explanations, key=lambda e: (-e.score, e.a, e.b))
