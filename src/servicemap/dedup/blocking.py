"""Blocking: which record pairs are worth scoring, so that comparisons stay far below n²."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from servicemap.dedup.scoring import BlockingRule, DedupSettings, RecordFeatures


@dataclass
class Blocking:
    """Candidate pairs (rows of indices into the records, i < j, each pair once) and what each
    rule produced."""

    pairs: np.ndarray
    pairs_by_rule: dict[str, int]
    windowed_blocks: dict[str, int] = field(default_factory=dict)


def blocking_keys(item: RecordFeatures, rule: BlockingRule, settings: DedupSettings) -> set[str]:
    """The keys one record is filed under by one rule; records sharing a key are compared."""
    if rule == "phone":
        return set(item.phones)
    if rule == "email":
        return set(item.emails)
    if rule == "website":
        # A page and a link to it meet under one key: an SC entry links to the municipality's page.
        return {key for key in (item.website, item.page) if key}
    if rule == "address":
        return {item.address_key} if item.address_key else set()
    if rule == "upl":
        # The same UPL in another municipality is another service: the key holds both.
        return {f"{item.municipality}|{item.upl}"} if item.upl else set()
    if rule == "name_key":
        return {" ".join(sorted(set(item.name_stems)))} if item.name_stems else set()
    # name_token: the words of the name and of its uniform product name
    words = (*item.name_stems, *(item.upl_text.split() if item.upl_text else ()))
    return {stem for stem in words if len(stem) >= settings.blocking.min_token_length}


def _block_pairs(
    blocks: list[list[int]], features: list[RecordFeatures], settings: DedupSettings
) -> tuple[np.ndarray, int]:
    """Every pair of each block as `i * n + j` codes (i < j), and how many blocks were windowed.

    A block is compared whole, or when too big for that, each record with its next neighbours
    in name order (a shared switchboard number must not cost n² comparisons). Blocks of one size
    are stacked, so that their pairs come from one numpy index operation, not a Python loop."""
    n = len(features)
    by_size: dict[int, list[list[int]]] = defaultdict(list)
    found: list[np.ndarray] = []
    windowed = 0
    window = settings.blocking.window
    for members in blocks:
        if len(members) <= settings.blocking.max_block_size:
            by_size[len(members)].append(members)
            continue
        windowed += 1
        by_name = sorted(members, key=lambda i: (features[i].name_text, features[i].record.record_id))
        ordered = np.asarray(by_name, dtype=np.int64)
        for step in range(1, min(window, len(ordered))):
            found.append(_codes(ordered[:-step], ordered[step:], n))
    for size, stacked in by_size.items():
        matrix = np.asarray(stacked, dtype=np.int64)
        first, second = np.triu_indices(size, k=1)
        found.append(_codes(matrix[:, first].ravel(), matrix[:, second].ravel(), n))
    return (np.concatenate(found) if found else np.zeros(0, dtype=np.int64)), windowed


def _codes(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    return np.minimum(a, b) * n + np.maximum(a, b)


def candidate_pairs(features: list[RecordFeatures], settings: DedupSettings) -> Blocking:
    """Run every configured blocking rule; a pair found by several rules is scored once."""
    n = len(features)
    every: list[np.ndarray] = []
    by_rule: dict[str, int] = {}
    windowed: dict[str, int] = {}
    for rule in settings.blocking.rules:
        blocks: dict[str, list[int]] = defaultdict(list)
        for index, item in enumerate(features):
            for key in blocking_keys(item, rule, settings):
                blocks[key].append(index)
        found, big = _block_pairs([m for m in blocks.values() if len(m) >= 2], features, settings)
        by_rule[rule] = len(found)
        if big:
            windowed[rule] = big
        every.append(found)
    unique = np.unique(np.concatenate(every)) if every else np.zeros(0, dtype=np.int64)
    pairs = np.stack([unique // max(n, 1), unique % max(n, 1)], axis=1)
    return Blocking(pairs=pairs, pairs_by_rule=by_rule, windowed_blocks=windowed)
