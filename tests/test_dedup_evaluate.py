"""Merge figures on a tiny hand-made truth, worked out by hand below each case."""

from __future__ import annotations

import pytest

from servicemap.dedup import pairwise_scores, truth_clusters
from servicemap.evaluation import evaluate_merge
from servicemap.publish import publish_directory
from tests.conftest import build_service


def test_pairwise_and_bcubed_figures_on_a_small_truth():
    truth = [{"a", "b", "c"}, {"d", "e"}, {"f"}]
    predicted = [{"a", "b"}, {"c", "d", "e"}, {"f"}]

    scores = pairwise_scores(predicted, truth)

    # Predicted pairs ab, cd, ce, de (4); true pairs ab, ac, bc, de (4); correct ab, de (2).
    assert (scores.predicted_pairs, scores.true_pairs, scores.correct_pairs) == (4, 4, 2)
    assert scores.pairwise_precision == pytest.approx(0.5)
    assert scores.pairwise_recall == pytest.approx(0.5)
    assert scores.pairwise_f1 == pytest.approx(0.5)
    # B-cubed precision per record: a,b 2/2; c 1/3; d,e 2/3; f 1 -> (1+1+1/3+2/3+2/3+1)/6 = 14/18.
    assert scores.bcubed_precision == pytest.approx(14 / 18)
    # B-cubed recall per record: a,b 2/3; c 1/3; d,e 1; f 1 -> (2/3+2/3+1/3+1+1+1)/6 = 14/18.
    assert scores.bcubed_recall == pytest.approx(14 / 18)
    assert scores.bcubed_f1 == pytest.approx(14 / 18)


def test_perfect_clustering_scores_one_and_everything_merged_loses_precision():
    truth = [{"a", "b"}, {"c"}, {"d"}]

    assert pairwise_scores([{"a", "b"}, {"c"}, {"d"}], truth).pairwise_f1 == 1.0
    merged = pairwise_scores([{"a", "b", "c", "d"}], truth)
    assert merged.pairwise_precision == pytest.approx(1 / 6)
    assert merged.pairwise_recall == 1.0
    # B-cubed precision: a,b 2/4 each, c,d 1/4 each -> 6/16.
    assert merged.bcubed_precision == pytest.approx(6 / 16)


def test_records_only_one_side_knows_are_left_out():
    truth = [{"a", "b"}, {"rejected-by-validation"}]
    predicted = [{"a", "b"}, {"not-in-truth"}]

    scores = pairwise_scores(predicted, truth)

    assert scores.records == 2
    assert scores.pairwise_f1 == 1.0
    assert scores.bcubed_f1 == 1.0


def test_ground_truth_records_are_named_like_crawled_records():
    ground_truth = {
        "services": [
            {
                "id": "a001",
                "records": [
                    {"source_id": "gemeente-brederwijk", "key": "/wmo"},
                    {"source_id": "sociale-kaart", "key": "svc-12"},
                ],
            },
            {"id": "a002", "records": [{"source_id": "sociale-kaart", "key": "svc-13"}]},
        ]
    }

    assert truth_clusters(ground_truth) == [
        {"gemeente-brederwijk:/wmo", "sociale-kaart:svc-12"},
        {"sociale-kaart:svc-13"},
    ]


def test_the_merge_of_a_directory_counts_only_its_active_services(tmp_path):
    """Two services merged by a later run stay published as inactive with their old records:
    the evaluation must not count those records twice."""
    url = f"sqlite:///{tmp_path / 'directory.sqlite'}"
    first = build_service(
        "Schuldhulp", "Gemeente Brederwijk", "Brederwijk", "Hulp bij schulden.", ["finances"]
    )
    second = build_service("Geldzorgen", "Gemeente Brederwijk", "Brederwijk", "Hulp bij geld.", ["finances"])
    publish_directory(url, [first, second], [], run_id="run-1")
    merged = first.model_copy(update={"members": [*first.members, *second.members]})
    publish_directory(url, [merged], [], run_id="run-2")
    records = [m.record_id for m in merged.members]
    truth = {
        "services": [
            {"records": [dict(zip(("source_id", "key"), r.split(":"), strict=True)) for r in records]}
        ]
    }

    scores = evaluate_merge(url, truth)

    assert (scores.pairwise_precision, scores.pairwise_recall) == (1.0, 1.0)
    assert scores.bcubed_precision == 1.0
