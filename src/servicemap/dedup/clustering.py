"""Clustering: matched pairs become services, without chaining two services through one link."""

from __future__ import annotations

from dataclasses import dataclass

from servicemap.dedup.scoring import PairExplanation, RecordFeatures, hard_conflicts


@dataclass
class Clustering:
    """Clusters as lists of record indices (every record in exactly one), the matches followed,
    and those refused because they would have put conflicting records in one service (as
    uncertain pairs, with the conflict as the last reason)."""

    clusters: list[list[int]]
    followed: list[PairExplanation]
    refused: list[PairExplanation]


def _first_conflict(
    left: list[int],
    right: list[int],
    features: list[RecordFeatures],
    cannot_link: dict[tuple[int, int], str],
    check_fields: bool = True,
) -> tuple[int, int, list[str]] | None:
    for i in left:
        for j in right:
            refused = cannot_link.get((i, j) if i < j else (j, i))
            if refused is not None:
                return i, j, [f"an operator decided cannot-link: {refused}"]
            conflicts = hard_conflicts(features[i], features[j]) if check_fields else []
            if conflicts:
                return i, j, conflicts
    return None


def cluster_matches(
    features: list[RecordFeatures],
    scored: list[tuple[int, int, PairExplanation]],
    must_link: list[tuple[int, int, PairExplanation]] = (),
    cannot_link: dict[tuple[int, int], str] | None = None,
) -> Clustering:
    """Join matched pairs strongest first; two clusters are joined only when no member of one
    conflicts with a member of the other, so A~B and B~C never makes A and C one service when
    A and C are two organisations with two phone numbers.

    An operator's `must_link` pairs are joined first, whatever their fields say; `cannot_link`
    ({(i, j) with i < j: reason}) keeps two records apart even through other members."""
    cannot_link = cannot_link or {}
    cluster_of = list(range(len(features)))
    members: dict[int, list[int]] = {i: [i] for i in range(len(features))}
    followed, refused = [], []
    matches = [(i, j, e) for i, j, e in scored if e.decision == "match"]
    matches.sort(key=lambda m: (-m[2].score, m[2].a, m[2].b))
    operator = len(must_link)
    for position, (i, j, explanation) in enumerate([*must_link, *matches]):
        left, right = cluster_of[i], cluster_of[j]
        if left == right:
            followed.append(explanation)
            continue
        found = _first_conflict(
            members[left], members[right], features, cannot_link, check_fields=position >= operator
        )
        if found is not None:
            x, y, conflicts = found
            a, b = features[x].record.record_id, features[y].record.record_id
            refused.append(
                explanation.model_copy(
                    update={
                        "decision": "uncertain",
                        "reasons": [
                            *explanation.reasons,
                            f"not joined: {a} and {b} would share a service: {'; '.join(conflicts)}",
                        ],
                    }
                )
            )
            continue
        followed.append(explanation)
        if len(members[left]) < len(members[right]):
            left, right = right, left
        for k in members[right]:
            cluster_of[k] = left
        members[left].extend(members.pop(right))
    clusters = [sorted(m) for m in members.values()]
    clusters.sort(key=lambda c: c[0])
    return Clustering(clusters=clusters, followed=followed, refused=refused)
