"""Merge quality of the whole demo run against its ground truth: the figures issue 6 promises."""

from __future__ import annotations

import pytest

from servicemap.evaluation import evaluate_merge, load_ground_truth


@pytest.mark.slow
def test_demo_merge_is_precise_and_finds_most_duplicates(demo_run):
    _, settings, _ = demo_run

    scores = evaluate_merge(settings.database_url, load_ground_truth())

    figures = (
        f"pairwise P {scores.pairwise_precision:.3f} R {scores.pairwise_recall:.3f}, "
        f"B-cubed P {scores.bcubed_precision:.3f} R {scores.bcubed_recall:.3f} F1 {scores.bcubed_f1:.3f}"
    )
    assert scores.pairwise_precision >= 0.98, figures
    assert scores.pairwise_recall >= 0.95, figures
    # Cluster-level quality, reported with the bars above (0.990 when they were set).
    assert scores.bcubed_f1 >= 0.98, figures
