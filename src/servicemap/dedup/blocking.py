"""Blocking: which record pairs are worth scoring, so that comparisons stay far below n²."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

from servicemap.dedup.scoring import BlockingRule, DedupSettings, RecordFeatures


@dataclass
class Blocking:
    """Candidate pairs (indices into the records, each pair once) and what each rule produced."""

    pairs: list[tuple[int, int]]
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
    members: list[int], features: list[RecordFeatures], settings: DedupSettings
) -> Iterator[tuple[int, int]]:
    """All pairs of a block, or for a block too big for that, each record with its next
    neighbours in name order (a shared switchboard number must not cost n² comparisons)."""
    if len(members) <= settings.blocking.max_block_size:
        for x, i in enumerate(members):
            for j in members[x + 1 :]:
                yield (i, j) if i < j else (j, i)
        return
    ordered = sorted(members, key=lambda i: (features[i].name_text, features[i].record.record_id))
    window = settings.blocking.window
    for x, i in enumerate(ordered):
        for j in ordered[x + 1 : x + window]:
            yield (i, j) if i < j else (j, i)


def candidate_pairs(features: list[RecordFeatures], settings: DedupSettings) -> Blocking:
    """Run every configured blocking rule; a pair found by several rules is scored once."""
    seen: set[tuple[int, int]] = set()
    pairs: list[tuple[int, int]] = []
    by_rule: dict[str, int] = {}
    windowed: dict[str, int] = {}
    for rule in settings.blocking.rules:
        blocks: dict[str, list[int]] = defaultdict(list)
        for index, item in enumerate(features):
            for key in blocking_keys(item, rule, settings):
                blocks[key].append(index)
        produced = 0
        for members in blocks.values():
            if len(members) < 2:
                continue
            if len(members) > settings.blocking.max_block_size:
                windowed[rule] = windowed.get(rule, 0) + 1
            for pair in _block_pairs(members, features, settings):
                produced += 1
                if pair not in seen:
                    seen.add(pair)
                    pairs.append(pair)
        by_rule[rule] = produced
    return Blocking(pairs=pairs, pairs_by_rule=by_rule, windowed_blocks=windowed)
