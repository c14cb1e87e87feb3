"""Quality of a published directory against a ground truth (the demo region ships one)."""

from __future__ import annotations

import json
from pathlib import Path

from servicemap.dedup.evaluate import MergeScores, pairwise_scores, truth_clusters
from servicemap.publish import published_membership

DEMO_GROUND_TRUTH = Path(__file__).parent / "demo" / "ground_truth.json"


def load_ground_truth(path: Path | None = None) -> dict:
    return json.loads((path or DEMO_GROUND_TRUTH).read_text(encoding="utf-8"))


def evaluate_merge(database_url: str, ground_truth: dict) -> MergeScores:
    """Pairwise and B-cubed merge quality of the current directory version: its services'
    member records against the truth's records per service."""
    predicted = [set(records) for records in published_membership(database_url).values()]
    return pairwise_scores(predicted, truth_clusters(ground_truth))
