"""Deduplication: one published service per real-world service, from records of all sources.

`deduplicate` runs blocking, scoring, clustering, golden records and stable ids in that order;
each step is its own module so that it can be tested and explained alone."""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from pydantic import BaseModel, Field

from servicemap.dedup.blocking import candidate_pairs
from servicemap.dedup.clustering import cluster_matches
from servicemap.dedup.decisions import DecisionsError, OperatorDecisions, PairDecision, load_decisions
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
    "DecisionsError",
    "OperatorDecisions",
    "PairDecision",
    "DuplicateRecordId",
    "IdChange",
    "MergeScores",
    "PairExplanation",
    "deduplicate",
    "explain_pair",
    "load_decisions",
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
    decisions: OperatorDecisions | None = None,
) -> DedupResult:
    """Group records of one service and build its golden record.

    `trust` is each source's `trust` from sources.yaml; `previous` is {service_id: member
    record ids} of the last publish, so that services keep their ids; `decisions` are the
    operator's must-link and cannot-link pairs (the packaged `decisions.yaml` by default)."""
    settings = settings or load_dedup_settings()
    decisions = decisions if decisions is not None else load_decisions()
    with _cycle_collection_paused():
        return _deduplicate(records, trust or {}, previous, settings, decisions)


@contextmanager
def _cycle_collection_paused() -> Iterator[None]:
    """Run without Python's cycle collector: a run allocates millions of small acyclic objects
    (features, explanations), and each collection walks every one of them again, so at 100,000
    records it cost more than half the run. Reference counting still frees them."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _deduplicate(
    records: list[NormalizedRecord],
    trust: dict[str, float],
    previous: dict[str, list[str]] | None,
    settings: DedupSettings,
    decisions: OperatorDecisions,
) -> DedupResult:
    repeated = sorted(r for r, n in Counter(r.record_id for r in records).items() if n > 1)
    if repeated:
        raise DuplicateRecordId(f"record ids {repeated[:10]} occur more than once (expected each once)")
    features = mark_shared_contacts([prepare(record, settings) for record in records])
    blocking = candidate_pairs(features, settings)
    scored = score_pairs(features, blocking.pairs, settings)
    must_link, cannot_link = _operator_pairs(records, decisions)
    clustering = cluster_matches(features, scored, must_link, cannot_link)
    clusters = [[records[i] for i in cluster] for cluster in clustering.clusters]
    ids, changes = assign_ids([[r.record_id for r in c] for c in clusters], previous)
    services = [
        golden_record(service_id, members, trust, settings.default_trust)
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


def _operator_pairs(
    records: list[NormalizedRecord], decisions: OperatorDecisions
) -> tuple[list[tuple[int, int, PairExplanation]], dict[tuple[int, int], str]]:
    """The decisions on records of this run, as indices; a decision on a record not crawled
    this time waits for it to come back."""
    index = {record.record_id: i for i, record in enumerate(records)}
    must_link = []
    for decision in decisions.must_link:
        if decision.a in index and decision.b in index:
            i, j = sorted((index[decision.a], index[decision.b]))
            a, b = decision.key
            reason = f"an operator decided must-link: {decision.reason}"
            must_link.append((i, j, PairExplanation(a=a, b=b, score=0.0, decision="match", reasons=[reason])))
    cannot_link = {}
    for decision in decisions.cannot_link:
        if decision.a in index and decision.b in index:
            i, j = sorted((index[decision.a], index[decision.b]))
            cannot_link[(i, j)] = decision.reason
    return must_link, cannot_link


def _strongest_first(explanations: Iterable[PairExplanation]) -> list[PairExplanation]:
    return sorted(explanations, key=lambda e: (-e.score, e.a, e.b))
