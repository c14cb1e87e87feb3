"""Throughput of normalisation + Great Expectations validation over 100,000 generated records.

Run on demand: `python benchmarks/normalize.py [--records N] [--seed S]`. Writes
`benchmarks/results/normalize.json` and `normalize.md`. The records are fictional but shaped
like what Dutch municipal and welfare sites publish: names, descriptions of 200-800 characters
with HTML remnants, phones, addresses and opening hours in many formats, and about 3% malformed
in the ways crawls go wrong (no name, a PO box, a broken number, a page caught as a name...).
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing
import os
import platform
import random
import resource
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from servicemap.normalize import normalize_records
from servicemap.records import RawRecord
from servicemap.validate import records_frame, validate_records

RESULTS = Path(__file__).with_name("results")
TARGET_SECONDS = 60.0
MALFORMED_SHARE = 0.03
FETCHED_AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)

PLACES = [
    "Brederwijk",
    "Lindeloo",
    "Vechtmond",
    "Oosterveen",
    "Heidebroek",
    "'s-Graveloo",
    "Klein-Amstelrade",
]
STREETS = [
    "Kerkstraat", "Dorpsstraat", "Oudegracht", "Stationsweg", "Molenlaan", "Burgemeester van Reenensingel",
    "Prinses Máximaplein", "Laan van 1813", "2e Hogeweg", "Bisschop Möllerstraat", "Wilhelminapark",
    "Jan van Galenstraat", "Zuiderdiep", "Vlasakker", "Achter de Kerk",
]  # fmt: skip
ADDITIONS = ["", "", "", "", "a", " A", "-bis", " hs", "-2", "/3", " III", " rood"]
SERVICES = [
    "Buurtteam", "Schuldhulpverlening", "Maatjesproject", "Taalcafé", "Mantelzorgsteunpunt", "Inloopochtend",
    "Repair café", "Formulierenhulp", "Jongerenwerk", "Ouderenadvies", "Wmo-loket", "Sociaal raadslieden",
    "Budgetcoaching", "Thuisadministratie", "Vrijwilligerscentrale", "Opvoedsteunpunt", "Rouwgroep",
    "Beweegmaatje", "Klussendienst", "Voedselbank uitgiftepunt",
]  # fmt: skip
QUALIFIERS = [
    "Noord",
    "Zuid",
    "Centrum",
    "Oost",
    "West",
    "voor 55-plussers",
    "voor jongeren",
    "op wijkniveau",
]
ORGANISATIONS = [
    "Stichting Welzijn {place}", "Gemeente {place}", "Vereniging Dorpsbelangen {place}",
    "Humanitas afdeling {place}", "Buurtwerk {place}", "Stichting MEE {place}",
]  # fmt: skip
SENTENCES = [
    "Het buurtteam helpt u bij vragen over geld, wonen, zorg en opvoeding.",
    "U kunt zonder verwijzing bij ons terecht; wij komen ook bij u thuis.",
    "Een vrijwilliger helpt u een jaar lang om uw administratie op orde te krijgen.",
    "Mantelzorgers kunnen bij het steunpunt terecht voor advies, een luisterend oor en respijtzorg.",
    "Wekelijks oefenen nieuwkomers met vrijwilligers hun Nederlands in een ontspannen sfeer.",
    "Heeft u schulden of dreigt u ze te krijgen? Neem dan contact op met ons team.",
    "Aanmelden kan telefonisch, per e-mail of tijdens het inloopspreekuur.",
    "De hulp is gratis voor inwoners van de gemeente en valt onder de Wmo.",
    "Wij werken samen met de huisarts, de praktijkondersteuner en het wijkteam.",
    "Samen zoeken we naar wat u zelf kunt en waar u hulp bij nodig heeft.",
    "Tijdens de schoolvakanties gelden aangepaste openingstijden.",
    "Ouderen die eenzaam zijn kunnen een maatje krijgen voor een wandeling of een kop koffie.",
]
HTML_REMNANTS = [
    ("<p>", "</p>"), ("<strong>", "</strong>"), ("", "&nbsp;"), ("<li>", "</li>"), ("", "<br>"),
    ("<span class=\"intro\">", "</span>"), ("", " &amp; meer."), ("", "\n\nLees meer &raquo;"),
]  # fmt: skip
PHONE_SHAPES = [
    "0{a}-{n}", "0{a} - {s}", "(0{a}) {n}", "+31 (0){a} {n}", "+31 {a} {s}", "0031 {a} {n}",
    "Tel. 0{a} {n}", "Spreekuur: 0{a}-{n}", "bel 0{a} {s} (ma-vr)", "06-{m}", "06 {m3}", "+31 6 {m}",
    "Crisislijn 0800-{f}", "14 0{a}", "0{a}-{n} toestel {x}", "088-{n7}",
]  # fmt: skip
HOURS = [
    "ma t/m vr {o}.00 - {c}.00 uur", "maandag tot en met vrijdag {o}:30 - {c}:00", "di en do {o}.00-12.00",
    "Mo-Fr {o}:00-{c}:00", "Mo,We 09:00:00-12:30:00", "Mon-Fri {o}am-{c12}pm", "Tuesdays 10:00-12:00",
    "wo {o}.00-12.00 uur, vr 13.00-{c}.00 uur", "elke dinsdagochtend", "op afspraak",
    "Maandag t/m donderdag van 9.00 tot 12.00 uur en van 13.00 tot 16.00 uur", "za gesloten, ma 9-12",
]  # fmt: skip
AREA_CODES = ["30", "20", "10", "317", "318", "33", "35", "50", "53", "70", "73", "76", "499", "599"]


def area_number(rng: random.Random, area: str) -> str:
    """A subscriber number whose length fits the area code: 10 digits in all."""
    length = 9 - len(area)
    return str(rng.randint(2 * 10 ** (length - 1), 10**length - 1))


def phone(rng: random.Random) -> str:
    area = rng.choice(AREA_CODES)
    digits = area_number(rng, area)
    mobile = str(rng.randint(10_000_000, 99_999_999))
    return rng.choice(PHONE_SHAPES).format(
        a=area,
        n=digits,
        s=" ".join(digits[i : i + 2] for i in range(0, len(digits), 2)),
        m=mobile,
        m3=f"{mobile[:3]} {mobile[3:6]} {mobile[6:]}",
        f=rng.randint(1000, 9999),
        x=rng.randint(10, 499),
        n7=rng.randint(2_000_000, 9_999_999),
    )


def description(rng: random.Random) -> str:
    text = ""
    target = rng.randint(200, 800)
    while len(text) < target:
        before, after = rng.choice(HTML_REMNANTS) if rng.random() < 0.4 else ("", "")
        text += f"{before}{rng.choice(SENTENCES)}{after} "
    return text.strip()


def postcode(rng: random.Random) -> str:
    digits = rng.randint(1000, 9999)
    letters = "".join(rng.choice("ABCEGHJKLMNPRTVWXZ") for _ in range(2))
    return rng.choice([f"{digits} {letters}", f"{digits}{letters}", f"{digits} {letters.lower()}"])


def good_record(rng: random.Random, index: int) -> dict:
    place = rng.choice(PLACES)
    street = f"{rng.choice(STREETS)} {rng.randint(1, 250)}{rng.choice(ADDITIONS)}"
    code = postcode(rng)
    address = rng.choice([[street, f"{code} {place}"], [f"{street}, {code} {place}"], [street]])
    hours_choice = rng.choice(HOURS)
    fields = {
        "service_name": f"{rng.choice(SERVICES)} {rng.choice(QUALIFIERS)}",
        "organization_name": rng.choice(ORGANISATIONS).format(place=place),
        "description": description(rng),
        "address_lines": address,
        "postcode": code if len(address) == 1 else None,
        "city": place,
        "phones": [phone(rng) for _ in range(rng.choice([0, 1, 1, 1, 2]))],
        "emails": rng.choice(
            [
                [],
                [f"info@welzijn-{place.lower().strip(chr(39))}.example.nl"],
                ["mailto:Loket@Gemeente.example.nl"],
            ]
        ),
        "website": rng.choice([None, f"www.welzijn{index % 500}.example.nl/?utm_source=gemeente"]),
        "opening_hours": [
            hours_choice.format(o=rng.randint(8, 10), c=rng.randint(16, 18), c12=rng.randint(4, 6))
        ],
        "categories": rng.sample(["Wmo", "Schulden", "Wonen", "Zorg", "Jeugd", "Mantelzorg"], 2),
        "language": "nl-NL",
    }
    if rng.random() < 0.5:
        fields["latitude"] = f"{rng.uniform(51.0, 53.3):.5f}".replace(".", rng.choice([".", ","]))
        fields["longitude"] = f"{rng.uniform(3.6, 7.0):.5f}"
    return fields


# How crawls go wrong: each yields a record the pipeline must set aside with a reason.
MALFORMED = {
    "no name": lambda fields, rng: (
        fields | {"service_name": rng.choice(["Lees meer »", "<p>&nbsp;</p>", ""])}
    ),
    "page caught as name": lambda fields, rng: fields | {"service_name": fields["description"] * 2},
    "unreachable": lambda fields, rng: (
        fields | {"phones": ["12345"], "emails": ["info@"], "website": "nvt", "address_lines": ["Postbus 12"]}
    ),
    "outside the Netherlands": lambda fields, rng: fields | {"latitude": "52.52", "longitude": "13.40"},
    "whole page as description": lambda fields, rng: fields | {"description": fields["description"] * 30},
}


def generate(count: int, seed: int) -> tuple[list[RawRecord], Counter[str]]:
    rng = random.Random(seed)
    records, malformed = [], Counter()
    kinds = list(MALFORMED)
    for index in range(count):
        fields = good_record(rng, index)
        if rng.random() < MALFORMED_SHARE:
            kind = rng.choice(kinds)
            fields = MALFORMED[kind](fields, rng)
            malformed[kind] += 1
        source = f"bron-{index % 40:02d}"
        records.append(
            RawRecord(
                source_id=source,
                key=f"/diensten/{index}",
                url=f"https://www.{source}.example.nl/diensten/{index}",
                fetched_at=FETCHED_AT,
                extraction=rng.choice(["html", "schema_org", "hsds_api", "samenwerkende_catalogi"]),
                **fields,
            )
        )
    return records, malformed


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def run_batch(records: list[RawRecord]) -> dict:
    """Normalise and validate one batch as the pipeline does; the seconds of each part."""
    cpu_started, started = time.process_time(), time.perf_counter()
    normalized = normalize_records(records)
    normalize_seconds = time.perf_counter() - started
    started = time.perf_counter()
    validation = validate_records(normalized.kept)
    validate_seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    # The frame is built again here only to tell our share of `validate_records` from GX's.
    started = time.perf_counter()
    records_frame(normalized.kept)
    frame_seconds = time.perf_counter() - started
    kept = len(validation.result.kept)
    rejected = len(normalized.rejected) + len(validation.result.rejected)
    assert kept + rejected == len(records), "records lost between normalisation and validation"
    return {
        "records": len(records),
        "kept": kept,
        "rejected_by_normalize": len(normalized.rejected),
        "rejected_by_validate": len(validation.result.rejected),
        "normalize_seconds": normalize_seconds,
        "validate_seconds": validate_seconds,
        "gx_seconds": max(validate_seconds - frame_seconds, 0.0),
        "cpu_seconds": cpu_seconds,
        "failed_expectations": {o.name: o.unexpected_count for o in validation.expectations if not o.success},
        "peak_rss_mb": peak_rss_mb(),
    }


_PARTITIONS: list[list[RawRecord]] = []


def _run_partition(index: int) -> dict:
    return run_batch(_PARTITIONS[index])


def run_partitions(records: list[RawRecord], workers: int) -> tuple[float, list[dict]]:
    """One batch per source on `workers` processes, as Dagster's multiprocess executor runs the
    source partitions; the wall time and each partition's figures."""
    by_source: dict[str, list[RawRecord]] = {}
    for record in records:
        by_source.setdefault(record.source_id, []).append(record)
    _PARTITIONS[:] = list(by_source.values())
    started = time.perf_counter()
    # fork: the partitions are inherited, not pickled to each worker
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        results = list(pool.map(_run_partition, range(len(_PARTITIONS))))
    return time.perf_counter() - started, results


def summary(wall: float, parts: list[dict]) -> dict:
    total = sum(p["records"] for p in parts)
    failed: Counter[str] = Counter()
    for part in parts:
        failed.update(part["failed_expectations"])
    gx = sum(p["gx_seconds"] for p in parts)
    busy = sum(p["normalize_seconds"] + p["validate_seconds"] for p in parts)
    return {
        "batches": len(parts),
        "wall_seconds": round(wall, 2),
        "records_per_second": round(total / wall),
        "cpu_seconds": round(sum(p["cpu_seconds"] for p in parts), 2),
        "normalize_seconds": round(sum(p["normalize_seconds"] for p in parts), 2),
        "validate_seconds": round(sum(p["validate_seconds"] for p in parts), 2),
        "gx_seconds": round(gx, 2),
        "gx_share": round(gx / busy, 3),
        "peak_rss_mb": round(max(p["peak_rss_mb"] for p in parts), 1),
        "kept": sum(p["kept"] for p in parts),
        "rejected_by_normalize": sum(p["rejected_by_normalize"] for p in parts),
        "rejected_by_validate": sum(p["rejected_by_validate"] for p in parts),
        "failed_expectations": dict(failed),
        "within_target": wall < TARGET_SECONDS,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()

    started = time.perf_counter()
    records, malformed = generate(args.records, args.seed)
    generate_seconds = time.perf_counter() - started
    rss_after_generating = peak_rss_mb()
    gc.collect()

    load_before = os.getloadavg()[0]
    partitions_wall, partitions = run_partitions(records, args.workers)
    started = time.perf_counter()
    one = run_batch(records)
    one_wall = time.perf_counter() - started
    figures = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python benchmarks/normalize.py", *sys.argv[1:]]),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "load_average_at_start": round(load_before, 2),
        },
        "records": len(records),
        "generated_malformed": dict(malformed),
        "generate_seconds": round(generate_seconds, 2),
        "rss_after_generating_mb": round(rss_after_generating, 1),
        "target_seconds": TARGET_SECONDS,
        "per_source_partitions": {"workers": args.workers, **summary(partitions_wall, partitions)},
        "one_batch_one_process": summary(one_wall, [one]),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "normalize.json").write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n")
    (RESULTS / "normalize.md").write_text(report(figures), encoding="utf-8")
    print(report(figures))
    return 0 if figures["per_source_partitions"]["within_target"] else 1


def report(f: dict) -> str:
    machine, parts, one = f["machine"], f["per_source_partitions"], f["one_batch_one_process"]

    def rows(key: str, form: str = "{}") -> str:
        return f"| {form.format(parts[key])} | {form.format(one[key])} |"

    failed = "\n".join(f"| {name} | {count} |" for name, count in parts["failed_expectations"].items())
    return f"""# Normalisation + validation benchmark

`{f["command"]}` on {f["date"]}: {machine["cpus"]} CPUs ({machine["processor"]}), Python {machine["python"]},
{machine["platform"]}; load average {machine["load_average_at_start"]} at the start (a shared machine: other
processes ran beside it, so wall times are upper bounds; CPU time is this run's own work).

{f["records"]:,} generated records ({", ".join(f"{k} {v}" for k, v in f["generated_malformed"].items())}
malformed). Target: under {f["target_seconds"]:g} s.

| figure | {parts["batches"]} source partitions on {parts["workers"]} processes | one batch, one process |
|---|---|---|
| wall time, normalize + validate (s) {rows("wall_seconds")}
| records per second {rows("records_per_second", "{:,}")}
| CPU time (s) {rows("cpu_seconds")}
| normalize_records (s, summed) {rows("normalize_seconds")}
| validate_records (s, summed) {rows("validate_seconds")}
| of which Great Expectations (s) {rows("gx_seconds")}
| GX share of normalize + validate {rows("gx_share", "{:.1%}")}
| peak memory, RSS (MB) {rows("peak_rss_mb")}
| kept {rows("kept", "{:,}")}
| rejected by normalize {rows("rejected_by_normalize", "{:,}")}
| rejected by validate {rows("rejected_by_validate", "{:,}")}
| within target {rows("within_target")}

The partitions mirror the pipeline: one batch per source, run side by side as Dagster's
multiprocess executor runs source partitions. The GX time is `validate_records` minus building
its data frame (timed separately). Generating the input took {f["generate_seconds"]} s and
{f["rss_after_generating_mb"]} MB (not counted).

| expectation failed (all partitions) | records |
|---|---|
{failed}
"""


if __name__ == "__main__":
    raise SystemExit(main())
