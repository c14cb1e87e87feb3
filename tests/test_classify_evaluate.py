"""Precision, recall and F1 of predicted label sets against the truth."""

import pytest

from servicemap.classify import format_scores, label_scores


def test_per_label_and_micro_scores():
    predicted = {"s1": {"finances", "housing"}, "s2": {"finances"}, "s3": set()}
    truth = {"s1": {"finances"}, "s2": {"finances", "daily_living"}, "s3": {"housing"}}
    scores = label_scores(predicted, truth)
    finances = scores.per_label["finances"]
    assert (finances.true_positives, finances.false_positives, finances.false_negatives) == (2, 0, 0)
    housing = scores.per_label["housing"]
    assert (housing.precision, housing.recall, housing.f1) == (0.0, 0.0, 0.0)
    assert scores.per_label["daily_living"].recall == 0.0
    assert scores.micro.precision == pytest.approx(2 / 3)
    assert scores.micro.recall == pytest.approx(2 / 4)
    assert scores.micro_f1 == pytest.approx(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5))


def test_item_missing_on_one_side_counts_as_empty():
    scores = label_scores({"s1": {"jeugd"}}, {"s2": {"jeugd"}})
    assert scores.items == 2
    jeugd = scores.per_label["jeugd"]
    assert (jeugd.true_positives, jeugd.false_positives, jeugd.false_negatives) == (0, 1, 1)


def test_tables():
    scores = label_scores({"s1": {"finances"}}, {"s1": {"finances"}})
    markdown = format_scores(scores)
    assert "| finances | 1 | 1.00 | 1.00 | 1.00 |" in markdown
    assert markdown.splitlines()[-1].startswith("| micro |")
    plain = format_scores(scores, markdown=False)
    assert plain.splitlines()[1].split() == ["finances", "1", "1.00", "1.00", "1.00"]
