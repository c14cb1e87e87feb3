"""Classification throughput: 100,000 generated services labelled by the default taxonomy.

Run on demand: `python benchmarks/classify.py [--services N] [--seed S]`. Each generated
service combines the texts of the demo region (`servicemap/demo/region/part_*.yaml`): a name or
name variant of one service, one or two description sentences from its own and another
service's descriptions, the categories and audience of a third, and now and then an English
sentence or no description at all, so that the mix resembles a large regional directory.
Times building the classifier and classifying every service (all five taxonomies), and writes
`benchmarks/results/classify.json` and `classify.md`.

Target (issue 7): all services in under 30 s on this machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import resource
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from servicemap.classify import Classifier, load_taxonomy
from servicemap.demo.region import load_region

RESULTS = Path(__file__).with_name("results")
TARGET_SECONDS = 30.0
ENGLISH = [
    "We help residents with debts and unpaid bills.",
    "Walk-in on Tuesday mornings, free of charge.",
    "For lonely elderly people who would like to meet others.",
    "Support for carers who look after a partner or parent.",
    "Ask your GP for a referral.",
]
_SENTENCE = re.compile(r"(?<=[.?!])\s+")


def generate(count: int, seed: int) -> list[tuple[str, str | None, list[str], str | None, str]]:
    """`count` services as (name, description, categories, audience, organisation)."""
    region = load_region()
    services = region.services
    names = {s.id: [s.name, *s.variants] for s in services}
    sentences = {s.id: [x for d in s.descriptions for x in _SENTENCE.split(d) if x] for s in services}
    rng = random.Random(seed)
    generated = []
    for _ in range(count):
        own, other, third = rng.choice(services), rng.choice(services), rng.choice(services)
        roll = rng.random()
        if roll < 0.05:
            description = None  # a catalogue entry with only a name and a category
        else:
            parts = rng.sample(sentences[own.id], k=min(len(sentences[own.id]), rng.randint(1, 3)))
            if roll < 0.35:
                parts.append(rng.choice(sentences[other.id]))
            if roll > 0.95:
                parts.append(rng.choice(ENGLISH))
            description = " ".join(parts)
        categories = list(own.categories if rng.random() < 0.7 else third.categories)
        audience = own.audience if rng.random() < 0.8 else third.audience
        organization = region.organization(own.organization).name
        generated.append((rng.choice(names[own.id]), description, categories, audience, organization))
    return generated


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    services = generate(args.services, args.seed)
    started = time.perf_counter()
    classifier = Classifier(load_taxonomy())
    built = time.perf_counter()
    labelled = [classifier.classify(n, d, c, a, o) for n, d, c, a, o in services]
    finished = time.perf_counter()

    per_taxonomy = Counter(label.taxonomy for labels in labelled for label in labels)
    unlabelled = sum(not any(lb.taxonomy == "life_domain" for lb in labels) for labels in labelled)
    wall = finished - started
    figures = {
        "command": " ".join(["python", "benchmarks/classify.py", *sys.argv[1:]]),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
        },
        "services": len(services),
        "wall_seconds": round(wall, 2),
        "target_seconds": TARGET_SECONDS,
        "build_seconds": round(built - started, 3),
        "services_per_second": round(len(services) / (finished - built)),
        "labels_per_taxonomy": dict(sorted(per_taxonomy.items())),
        "without_life_domain": unlabelled,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "classify.json").write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    (RESULTS / "classify.md").write_text(_markdown(figures), encoding="utf-8")
    print(_markdown(figures))
    return 0 if wall < TARGET_SECONDS else 1


def _markdown(f: dict) -> str:
    machine = f["machine"]
    labels = "\n".join(f"| {taxonomy} | {count:,} |" for taxonomy, count in f["labels_per_taxonomy"].items())
    return f"""# Classification benchmark

`{f["command"]}` on {f["date"]}: {machine["cpus"]} CPUs, {machine["processor"]}, Python {machine["python"]},
{machine["platform"]}.

| figure | value |
|---|---|
| services | {f["services"]:,} |
| wall time (build + classify) | {f["wall_seconds"]} s (target < {f["target_seconds"]:g} s) |
| building the classifier | {f["build_seconds"]} s |
| services per second | {f["services_per_second"]:,} |
| services without a life domain | {f["without_life_domain"]:,} |
| peak memory (RSS) | {f["peak_rss_mb"]} MB |

| taxonomy | labels given |
|---|---|
{labels}
"""


if __name__ == "__main__":
    raise SystemExit(main())
