"""The search quality set on both backends, written out as the per-query tables of the note.

Run on demand: `python benchmarks/search_quality.py [--demo-database URL] [--postgres URL]`.
The demo region is crawled, merged, classified and published to SQLite as `servicemap run
--demo` does (or `--demo-database` names such a directory); its services are then published to
a fresh PostgreSQL database, and `evaluate_search` runs the quality set
(`src/servicemap/demo/search_queries.yaml`) on each. `servicemap evaluate search` gives the
same table for one directory; the tests hold both backends to recall@5 >= 0.95.
Writes `benchmarks/results/search.quality.md`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

# The benchmarks beside this one (the script's directory is on the path): their demo run and
# fresh PostgreSQL database are the ones to reuse.
import api as api_benchmark
import search as search_benchmark

from servicemap.classify import load_taxonomy
from servicemap.evaluation import load_ground_truth
from servicemap.publish import engine_for, publish_directory, read_services
from servicemap.search.quality import evaluate_search, load_search_queries

RESULTS = Path(__file__).with_name("results")
POSTGRES_DATABASE = "search_quality_benchmark"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo-database", help="A published demo directory (default: run the demo now).")
    parser.add_argument(
        "--postgres",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/test",
        help="A PostgreSQL server URL; its database is replaced by a fresh one of this benchmark's. "
        "An empty value skips PostgreSQL.",
    )
    args = parser.parse_args()

    queries, truth = load_search_queries(), load_ground_truth()
    lines = [
        "# Search quality set (demo region, `src/servicemap/demo/search_queries.yaml`)",
        "",
        f"`{' '.join(['python', 'benchmarks/search_quality.py', *sys.argv[1:]])}`",
        "",
        "Recall@5: expected services found in the first five hits, over all expected services. "
        "The demo directory is the one the whole flow publishes (SQLite); the same services are "
        "published to PostgreSQL.",
        "",
    ]
    with tempfile.TemporaryDirectory() as work:
        demo = args.demo_database or api_benchmark.demo_directory(Path(work))
        directories = {"SQLite": demo}
        if args.postgres:
            postgres = search_benchmark.fresh_postgres(args.postgres, POSTGRES_DATABASE)
            publish_directory(
                postgres, read_services(demo), [], run_id="search-quality", synonyms=load_taxonomy().synonyms
            )
            directories["PostgreSQL"] = postgres
        for backend, url in directories.items():
            quality = evaluate_search(url, queries, truth)
            lines += [
                f"## {backend}: recall@5 = {quality.recall_at_5:.3f} over {len(quality.queries)} queries",
                "",
                quality.table(),
                "",
            ]
            print(f"{backend}: recall@5 = {quality.recall_at_5:.3f}", flush=True)
            engine_for(url).dispose()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "search.quality.md").write_text("\n".join(lines), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
