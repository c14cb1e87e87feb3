"""Quality of a published directory against a ground truth (the demo region ships one)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from servicemap.classify.evaluate import LabelScores, format_scores, label_scores
from servicemap.dedup.evaluate import MergeScores, pairwise_scores, truth_clusters
from servicemap.publish import read_services

DEMO_GROUND_TRUTH = Path(__file__).parent / "demo" / "ground_truth.json"


def load_ground_truth(path: Path | None = None) -> dict:
    return json.loads((path or DEMO_GROUND_TRUTH).read_text(encoding="utf-8"))


def evaluate_merge(database_url: str, ground_truth: dict) -> MergeScores:
    """Pairwise and B-cubed merge quality of the current directory version: its active
    services' member records against the truth's records per service. An inactive service
    (kept after its records moved to another service) would count those records twice."""
    predicted = [
        {m.record_id for m in s.members} for s in read_services(database_url) if s.status == "active"
    ]
    return pairwise_scores(predicted, truth_clusters(ground_truth))


# Which ground-truth field holds the labels of each taxonomy; a single-valued one may be null.
TRUTH_FIELDS = {
    "life_domain": "domains",
    "audience": "audiences",
    "sector": "sector",
    "access": "access",
    "cost": "cost",
}


def evaluate_classification(database_url: str, ground_truth: dict) -> dict[str, LabelScores]:
    """Per taxonomy, the published labels of the current directory against the truth.

    Each active published service is compared with the truth service that most of its member
    records describe (ties go to the truth's first); a service with no member in the truth
    is left out, and so is a truth service nothing was published for (the merge evaluation
    counts those). `LabelScores.items` says how many services were compared."""
    truth_by_record: dict[str, dict] = {}
    order = {}
    for index, service in enumerate(ground_truth["services"]):
        order[service["id"]] = index
        for record in service["records"]:
            truth_by_record[f"{record['source_id']}:{record['key']}"] = service
    predicted: dict[str, dict[str, set[str]]] = {taxonomy: {} for taxonomy in TRUTH_FIELDS}
    truth: dict[str, dict[str, set[str]]] = {taxonomy: {} for taxonomy in TRUTH_FIELDS}
    for service in read_services(database_url):
        if service.status != "active":
            continue
        described = Counter(
            truth_by_record[m.record_id]["id"] for m in service.members if m.record_id in truth_by_record
        )
        if not described:
            continue
        best = min(described, key=lambda truth_id: (-described[truth_id], order[truth_id]))
        correct = ground_truth["services"][order[best]]
        for taxonomy, field in TRUTH_FIELDS.items():
            value = correct.get(field)
            truth[taxonomy][service.id] = set(value) if isinstance(value, list) else {value} - {None}
            predicted[taxonomy][service.id] = set(service.terms(taxonomy))
    return {taxonomy: label_scores(predicted[taxonomy], truth[taxonomy]) for taxonomy in TRUTH_FIELDS}


def format_classification(scores: dict[str, LabelScores], markdown: bool = True) -> str:
    """Every taxonomy's per-label table under its name: what `evaluate classification` prints."""
    sections = []
    for taxonomy, table in scores.items():
        title = (
            f"### {taxonomy} ({table.items} services)" if markdown else f"{taxonomy} ({table.items} services)"
        )
        sections.append(f"{title}\n\n{format_scores(table, markdown=markdown)}")
    return "\n\n".join(sections)
