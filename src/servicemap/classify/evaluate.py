"""How well predicted label sets agree with the truth: per-label and micro-averaged
precision, recall and F1, and a table a person can read."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LabelScore:
    label: str
    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def support(self) -> int:
        """How many items truly carry the label."""
        return self.true_positives + self.false_negatives

    @property
    def precision(self) -> float:
        return _ratio(self.true_positives, self.true_positives + self.false_positives)

    @property
    def recall(self) -> float:
        return _ratio(self.true_positives, self.true_positives + self.false_negatives)

    @property
    def f1(self) -> float:
        return _f1(self.precision, self.recall)


@dataclass(frozen=True)
class LabelScores:
    per_label: dict[str, LabelScore]
    items: int

    @property
    def micro(self) -> LabelScore:
        """All labels pooled: every (item, label) decision counts once."""
        return LabelScore(
            label="micro",
            true_positives=sum(s.true_positives for s in self.per_label.values()),
            false_positives=sum(s.false_positives for s in self.per_label.values()),
            false_negatives=sum(s.false_negatives for s in self.per_label.values()),
        )

    @property
    def micro_f1(self) -> float:
        return self.micro.f1


def _ratio(numerator: int, denominator: int) -> float:
    # Nothing predicted and nothing missed is a perfect score, not a division by zero.
    return numerator / denominator if denominator else 1.0


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def label_scores(predicted: dict[str, set[str]], truth: dict[str, set[str]]) -> LabelScores:
    """Compare label sets per item id; an item missing on one side has the empty set there."""
    items = set(predicted) | set(truth)
    counts: dict[str, list[int]] = {}
    for item in items:
        guessed, correct = predicted.get(item, set()), truth.get(item, set())
        for label in guessed | correct:
            tp_fp_fn = counts.setdefault(label, [0, 0, 0])
            if label in guessed and label in correct:
                tp_fp_fn[0] += 1
            elif label in guessed:
                tp_fp_fn[1] += 1
            else:
                tp_fp_fn[2] += 1
    per_label = {label: LabelScore(label, *counts[label]) for label in sorted(counts)}
    return LabelScores(per_label=per_label, items=len(items))


def format_scores(scores: LabelScores, markdown: bool = True) -> str:
    """A table of every label and the micro average: markdown for Dagster metadata, plain for a terminal."""
    header = ["label", "support", "precision", "recall", "f1"]
    rows = [
        [s.label, str(s.support), f"{s.precision:.2f}", f"{s.recall:.2f}", f"{s.f1:.2f}"]
        for s in [*scores.per_label.values(), scores.micro]
    ]
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|---|---:|---:|---:|---:|"]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row))
        for row in [header, *rows]
    )
