"""Merge quality against a hand-made truth: pairwise and B-cubed precision, recall and F1."""

from __future__ import annotations

from collections import Counter

from pydantic import BaseModel

from servicemap.records import DirectoryService


class MergeScores(BaseModel):
    """Pairwise figures count record pairs put together; B-cubed figures average per record, so a
    wrongly merged big cluster does not drown every singleton."""

    records: int
    predicted_pairs: int
    true_pairs: int
    correct_pairs: int
    pairwise_precision: float
    pairwise_recall: float
    pairwise_f1: float
    bcubed_precision: float
    bcubed_recall: float
    bcubed_f1: float


def _pairs(size: int) -> int:
    return size * (size - 1) // 2


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def _restrict(clusters: list[set[str]], keep: set[str]) -> list[set[str]]:
    return [kept for cluster in clusters if (kept := cluster & keep)]


def pairwise_scores(predicted: list[set[str]], truth: list[set[str]]) -> MergeScores:
    """Score `predicted` clusters of record ids against `truth`, over the records both contain
    (a record the truth does not know, or one the pipeline rejected, is left out of both).

    With no predicted pairs precision is 1.0 (nothing was wrongly joined); with no true pairs
    recall is 1.0 (nothing was there to find)."""
    common = set().union(*predicted) & set().union(*truth) if predicted and truth else set()
    predicted, truth = _restrict(predicted, common), _restrict(truth, common)
    truth_of = {record: index for index, cluster in enumerate(truth) for record in cluster}

    overlap_sizes: list[tuple[int, int, int]] = []  # (size of the intersection, predicted size, true size)
    for cluster in predicted:
        for truth_index, size in Counter(truth_of[r] for r in cluster).items():
            overlap_sizes.append((size, len(cluster), len(truth[truth_index])))

    correct = sum(_pairs(size) for size, _, _ in overlap_sizes)
    predicted_pairs = sum(_pairs(len(c)) for c in predicted)
    true_pairs = sum(_pairs(len(c)) for c in truth)
    precision = correct / predicted_pairs if predicted_pairs else 1.0
    recall = correct / true_pairs if true_pairs else 1.0

    # Each of the `size` records of an intersection has precision size/|its predicted cluster|.
    records = len(common)
    b_precision = sum(size * size / p for size, p, _ in overlap_sizes) / records if records else 1.0
    b_recall = sum(size * size / t for size, _, t in overlap_sizes) / records if records else 1.0
    return MergeScores(
        records=records,
        predicted_pairs=predicted_pairs,
        true_pairs=true_pairs,
        correct_pairs=correct,
        pairwise_precision=precision,
        pairwise_recall=recall,
        pairwise_f1=_f1(precision, recall),
        bcubed_precision=b_precision,
        bcubed_recall=b_recall,
        bcubed_f1=_f1(b_precision, b_recall),
    )


def service_clusters(services: list[DirectoryService]) -> list[set[str]]:
    """The predicted clusters of a deduplication: the member record ids of each service."""
    return [{m.record_id for m in service.members} for service in services]


def truth_clusters(ground_truth: dict) -> list[set[str]]:
    """The true clusters of a ground truth shaped like the demo's `ground_truth.json`:
    {"services": [{"records": [{"source_id": ..., "key": ...}, ...]}, ...]}; a record id is
    'source_id:key', as in `RawRecord.record_id`."""
    return [
        {f"{r['source_id']}:{r['key']}" for r in service["records"]} for service in ground_truth["services"]
    ]
