"""One partition per source in sources.yaml: a source is crawled, re-crawled and fails alone."""

import dagster as dg

source_partitions = dg.DynamicPartitionsDefinition(name="sources")
