"""One partition per source in sources.yaml: a source is crawled, re-crawled and fails alone."""

import dagster as dg

source_partitions = dg.DynamicPartitionsDefinition(name="sources")


def partition_changes(known: list[str], wanted: list[str]) -> tuple[list[str], list[str]]:
    """The source partitions to add and to remove so that `known` becomes `wanted`."""
    return [s for s in wanted if s not in set(known)], sorted(set(known) - set(wanted))
