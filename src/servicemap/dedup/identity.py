"""Stable service ids: a service keeps its UUID from run to run while it keeps most of its records."""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from typing import Literal

from pydantic import BaseModel


class IdChange(BaseModel):
    """A split (one old service now several) or a merge (several old services now one)."""

    kind: Literal["split", "merge"]
    old_ids: list[str]
    new_ids: list[str]


def assign_ids(
    clusters: list[list[str]], previous: dict[str, list[str]] | None = None
) -> tuple[list[str], list[IdChange]]:
    """One id per cluster of record ids, and the splits and merges since `previous`
    ({service_id: member record ids} of the last publish).

    A cluster keeps a previous service's id when it holds more than half of that service's
    records still crawled in this run (records gone from their source do not count against it);
    each old id goes to at most one cluster, the one holding most of it. Other clusters get a
    new uuid4."""
    previous = previous or {}
    present = {record_id for cluster in clusters for record_id in cluster}
    old_service_of: dict[str, str] = {}
    still_present: dict[str, int] = {}
    for service_id in sorted(previous):
        members = [r for r in previous[service_id] if r in present]
        still_present[service_id] = len(members)
        for record_id in members:
            old_service_of.setdefault(record_id, service_id)

    overlaps = [Counter(old_service_of[r] for r in cluster if r in old_service_of) for cluster in clusters]
    candidates = [
        (count, index, service_id)
        for index, overlap in enumerate(overlaps)
        for service_id, count in overlap.items()
        if 2 * count > still_present[service_id]
    ]
    candidates.sort(key=lambda c: (-c[0], c[1], c[2]))
    ids: list[str | None] = [None] * len(clusters)
    taken: set[str] = set()
    for _count, index, service_id in candidates:
        if ids[index] is None and service_id not in taken:
            ids[index] = service_id
            taken.add(service_id)
    final = [service_id or str(uuid.uuid4()) for service_id in ids]

    changes = []
    new_ids_of_old: dict[str, set[str]] = defaultdict(set)
    for index, overlap in enumerate(overlaps):
        for service_id in overlap:
            new_ids_of_old[service_id].add(final[index])
        if len(overlap) > 1:
            changes.append(IdChange(kind="merge", old_ids=sorted(overlap), new_ids=[final[index]]))
    for service_id, new_ids in sorted(new_ids_of_old.items()):
        if len(new_ids) > 1:
            changes.append(IdChange(kind="split", old_ids=[service_id], new_ids=sorted(new_ids)))
    return final, changes
