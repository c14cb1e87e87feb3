"""A generated region end to end, in one process and on two Celery workers.

Run on demand: `python benchmarks/scale.py [--sites 50] [--pages 400]` (needs scripts/services-up
for the Celery run). Lays the records of the dedup benchmark's generated region (each service
listed on one to five sources with their spelling, phone and address noise, ≈ 2.5 records per
service) out as `--sites` municipal-style websites of `--pages` pages each (home, listings and
one product page per record, the crawl benchmark's layout), serves them from memory on 127.0.0.1
and runs servicemap from crawl to publish twice, each in a fresh Dagster instance:

- in-process: `run_pipeline`, every source's ingest run one after the other, then the directory
  run, run storage on SQLite;
- celery: `run_distributed` on two `celery worker` processes (one task at a time each) fed
  through Redis, run storage on PostgreSQL, two source runs at a time.

Per stage it takes the step times from each run's event log (step start to step success) and
the assets' own "duration (s)" metadata; per mode the wall time of the ingest runs, of the
directory run and of the whole, and the peak memory of the process tree (the run's coordinator
with every process below it, and the workers with theirs: the sum of their RSS, sampled every
half second from /proc). Politeness is off (no delay, no AutoThrottle, 8 requests per site), as
in the crawl benchmark: the figures are the machine's cost, and docs/scaling.md adds the delay.

Writes `benchmarks/results/scale.json` (one entry per size, the newest run of each size kept,
so that the growth of the directory run shows across sizes) and `scale.md`.
"""

from __future__ import annotations

import argparse
import html
import json
import multiprocessing
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from contextlib import ExitStack, suppress
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import dagster as dg
import psycopg
import redis
import yaml
from celery import Celery
from crawl import PRODUCTS_PER_LISTING, SELECTORS, MemorySite, write_site
from dedup import RECORDS_PER_SERVICE, Region

from pipelines.executors import PARTITION_TAG, celery_execution, run_distributed
from pipelines.instance_storage import PG_URL_VARIABLE
from pipelines.resources import ServicemapSettings
from pipelines.run import run_pipeline, sync_source_partitions
from servicemap.records import NormalizedRecord

REPOSITORY = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).with_name("results")
REDIS_DB = 12  # apart from a developer's own workers (0) and the Celery test (11)
BROKER = f"redis://127.0.0.1:6379/{REDIS_DB}"
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
INSTANCE_DATABASE = "servicemap_dagster_bench"
INSTANCE_URL = f"postgresql://postgres@127.0.0.1:5432/{INSTANCE_DATABASE}"
WORKERS = 2
SAMPLE_SECONDS = 0.5
SEED = 10
MODES = ("in_process", "celery")
STAGES = ("crawl", "normalise", "validate", "dedup", "classify", "publish", "checks, quarantine, health")
STAGE_OF_STEP = {
    "crawled_records": "crawl",
    "normalized_records": "normalise",
    "validated_records": "validate",
    "service_clusters": "dedup",
    "directory_services": "dedup",
    "classified_services": "classify",
    "published_directory": "publish",
    "hsds_export": "publish",
}
# What each stage's throughput counts, from its assets' metadata.
STAGE_UNIT = {
    "crawl": ("pages", "crawled_records", ("pages fetched",)),
    "normalise": ("records", "normalized_records", ("kept", "rejected")),
    "validate": ("records", "validated_records", ("kept", "rejected")),
    "dedup": ("records", "service_clusters", ("records",)),
    "classify": ("services", "classified_services", ("services",)),
    "publish": ("services", "published_directory", ("services",)),
}
# What the runs crawled and published: asset -> metadata key -> name in the results.
PUBLISHED = {
    "crawled_records": {"pages fetched": "pages_fetched", "records": "records_crawled"},
    "published_directory": {
        "services": "services_published",
        "source records": "source_records_published",
        "rejected records": "records_rejected",
    },
}
PUBLISHED_NAMES = [name for names in PUBLISHED.values() for name in names.values()]
# Dagster's own log lines stay in the event log, off the console, as in `run_pipeline`.
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
COUNTED = {
    "pages_fetched": "pages fetched (robots.txt included)",
    "records_crawled": "records crawled",
    "services_published": "services published",
    "records_rejected": "records rejected",
}
HOURS = ["maandag t/m donderdag 09.00 - 17.00 uur", "vrijdag 09.00 - 12.30 uur"]


class BenchmarkFailed(RuntimeError):
    """A mode of the benchmark did not complete; the message says which and where to look."""


def products_per_site(pages: int) -> int:
    """Product pages that, with a home page and one listing per 100 products, make `pages`."""
    products = pages - 2
    while products > 0 and 1 + -(-products // PRODUCTS_PER_LISTING) + products > pages:
        products -= 1
    if products < 1:
        raise ValueError(f"--pages {pages}: a site needs at least 3 pages (home, listing, product)")
    return products


def raw_phone(number: str, rng: random.Random) -> str:
    """'+31301234567' as sites write it: '030 - 123 45 67', '030-1234567' or '+31 30 123 4567'."""
    national = "0" + number.removeprefix("+31")
    return rng.choice(
        [
            f"{national[:3]} - {national[3:6]} {national[6:8]} {national[8:]}",
            f"{national[:3]}-{national[3:]}",
            f"+31 {national[1:3]} {national[3:6]} {national[6:]}",
        ]
    )


def record_page(record: NormalizedRecord, number: int, products: int, rng: random.Random) -> str:
    """A product page that shows `record` as found on a site: raw phone and postcode spellings,
    navigation and links to other products, in the crawl benchmark's layout (its SELECTORS)."""
    listings = -(-products // PRODUCTS_PER_LISTING)
    nav = "".join(f'<li><a href="/overzicht/{k}.html">Overzicht {k + 1}</a></li>' for k in range(listings))
    related = "".join(
        f'<li><a href="/producten/p{(number + step) % products}.html">Zie ook {step}</a></li>'
        for step in (1, 7, 31)
    )
    parts = [f'<h1 class="product-titel">{html.escape(record.name)}</h1>']
    if record.organization:
        parts.append(f'<p class="organisatie">{html.escape(record.organization)}</p>')
    if record.description:
        parts.append(f'<div class="samenvatting"><p>{html.escape(record.description)}</p></div>')
    contact = []
    if record.address:
        address = record.address
        street = " ".join(p for p in (address.street, address.house_number, address.addition) if p)
        postcode = address.postcode or ""
        postcode = rng.choice([postcode, postcode.replace(" ", "").lower()])
        contact.append(
            f'<div class="adres"><span class="straat">{html.escape(street)}</span>'
            f'<span class="postcode">{postcode}</span><span class="plaats">{html.escape(address.city or "")}'
            "</span></div>"
        )
    contact += [f'<a href="tel:{p.number}">{raw_phone(p.number, rng)}</a>' for p in record.phones]
    contact += [f'<a href="mailto:{e}">{e}</a>' for e in record.emails]
    contact.append('<ul class="openingstijden">' + "".join(f"<li>{h}</li>" for h in HOURS) + "</ul>")
    parts.append('<div class="contact"><h2>Contact</h2>' + "".join(contact) + "</div>")
    return (
        "<!DOCTYPE html><html lang='nl'><head><meta charset='utf-8'>"
        f"<title>{html.escape(record.name)}</title></head><body><header><a href='/'>Home</a>"
        f"<nav><ul>{nav}</ul></nav></header><main>{''.join(parts)}"
        f"<h2>Zie ook</h2><ul class='gerelateerd'>{related}</ul></main>"
        "<footer><a href='/privacy'>Privacy</a></footer></body></html>"
    )


def generate_region(root: Path, sites: int, pages: int, seed: int) -> dict:
    """Write `sites` sites of `pages` pages under `root`; returns what was generated. The
    records, sorted by their generated source, are cut into equal sites: a site holds one
    source's listings or several small ones, and a service's listings fall on different sites."""
    products = products_per_site(pages)
    wanted = sites * products
    records, truth = Region(round(wanted / RECORDS_PER_SERVICE * 1.05), seed).records(wanted)
    if len(records) < wanted:
        raise ValueError(f"the generator gave {len(records)} records, expected {wanted}")
    records.sort(key=lambda r: r.source_id)
    rng = random.Random(seed)
    reachable = 0
    for k in range(sites):
        chunk = records[k * products : (k + 1) * products]
        site_pages = [(r.name, record_page(r, n, products, rng)) for n, r in enumerate(chunk)]
        reachable += write_site(root / site_id(k), site_pages)
    return {
        "sites": sites,
        "pages_per_site": pages,
        "pages": reachable,
        "product_pages": wanted,
        "services_in_truth": len({truth[r.record_id] for r in records}),
    }


def site_id(k: int) -> str:
    return f"site-{k:02d}"


def write_sources(path: Path, origins: list[str], pages: int) -> list[str]:
    """sources.yaml for the served sites, politeness off as in benchmarks/crawl.py."""
    sources = [
        {
            "id": site_id(k),
            "organization": f"Regiosite {k + 1}",
            "kind": "html",
            "start_urls": [origin + "/"],
            "service_pages": "/producten/",
            "max_pages": pages + 10,
            "selectors": SELECTORS,
        }
        for k, origin in enumerate(origins)
    ]
    crawl = {"download_delay": 0, "autothrottle": False, "concurrency_per_domain": 8}
    path.write_text(yaml.safe_dump({"crawl": crawl, "sources": sources}), encoding="utf-8")
    return [s["id"] for s in sources]


def dagster_home(home: Path) -> Path:
    """A DAGSTER_HOME with the repository's dagster.yaml, its files under `home`."""
    home.mkdir(parents=True)
    config = yaml.safe_load((REPOSITORY / "dagster.yaml").read_text(encoding="utf-8"))
    config["storage"]["custom"]["config"]["base_dir"] = str(home)
    config["local_artifact_storage"]["config"]["base_dir"] = str(home)
    config["compute_logs"]["config"]["base_dir"] = str(home / "storage")
    (home / "dagster.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    return home


class TreeMemory:
    """The peak summed RSS of named process trees (a root and every process below it), sampled
    from /proc: a shared page counts once per process, so the sum is an upper bound."""

    def __init__(self, roots: dict[str, list[int]]):
        self.roots = roots
        self.peak: dict[str, int] = defaultdict(int)
        self.peak_total = 0
        self.peak_process = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample_until_stopped, daemon=True)
        self._page = os.sysconf("SC_PAGE_SIZE")

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample_until_stopped(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(SAMPLE_SECONDS)

    def sample(self) -> None:
        children: dict[int, list[int]] = defaultdict(list)
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                with suppress(FileNotFoundError, ProcessLookupError):
                    stat = Path(f"/proc/{entry.name}/stat").read_text()
                    children[int(stat.rsplit(")", 1)[1].split()[1])].append(int(entry.name))
        total = 0
        for name, roots in self.roots.items():
            tree, todo = set(), list(roots)
            while todo:
                pid = todo.pop()
                if pid not in tree:
                    tree.add(pid)
                    todo += children.get(pid, [])
            sizes = [self._rss(pid) for pid in tree]
            self.peak[name] = max(self.peak[name], sum(sizes))
            self.peak_process = max([self.peak_process, *sizes])
            total += sum(sizes)
        self.peak_total = max(self.peak_total, total)

    def _rss(self, pid: int) -> int:
        with suppress(FileNotFoundError, ProcessLookupError):
            return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * self._page
        return 0

    def figures(self) -> dict:
        mb = 1 << 20
        return {
            "total_mb": round(self.peak_total / mb),
            **{f"{name}_mb": round(size / mb) for name, size in self.peak.items()},
            "largest_process_mb": round(self.peak_process / mb),
        }


def stage_figures(instance: dg.DagsterInstance) -> dict:
    """Per stage, from every run's event log: its steps, their summed wall time (step start to
    success), the assets' summed "duration (s)", and what the stage processed; per phase, the
    wall time from the first run's start to the last run's end; what was crawled and published."""
    steps: dict[str, list[float]] = defaultdict(list)
    compute: dict[str, float] = defaultdict(float)
    counted: dict[str, int] = defaultdict(int)
    phases: dict[str, list[tuple[float, float]]] = defaultdict(list)
    totals: dict[str, int] = defaultdict(int)
    failed = []
    for run in instance.get_runs():
        stats = instance.get_run_stats(run.run_id)
        phase = "ingest" if PARTITION_TAG in run.tags else "directory"
        phases[phase].append((stats.start_time, stats.end_time))
        if run.status != dg.DagsterRunStatus.SUCCESS:
            failed.append(
                f"{run.job_name} {run.tags.get(PARTITION_TAG, '')} {run.run_id}: {run.status.value}"
            )
        started = {}
        for entry in instance.all_logs(run.run_id):
            event = entry.dagster_event
            if event is None:
                continue
            stage = STAGE_OF_STEP.get(event.step_key or "", STAGES[-1])
            if event.event_type == dg.DagsterEventType.STEP_START:
                started[event.step_key] = entry.timestamp
            elif event.event_type == dg.DagsterEventType.STEP_SUCCESS:
                steps[stage].append(entry.timestamp - started[event.step_key])
            elif event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
                materialization = event.event_specific_data.materialization
                asset, metadata = materialization.asset_key.to_user_string(), materialization.metadata
                for key, name in PUBLISHED.get(asset, {}).items():
                    totals[name] += int(metadata[key].value)
                if "duration (s)" in metadata:
                    compute[stage] += metadata["duration (s)"].value
                for unit_stage, (_, unit_asset, keys) in STAGE_UNIT.items():
                    if unit_asset == asset:
                        counted[unit_stage] += sum(int(metadata[k].value) for k in keys)
    if failed:
        raise BenchmarkFailed("runs failed: " + "; ".join(failed))
    stages = {}
    for stage in STAGES:
        seconds = sum(steps[stage])
        figures = {
            "steps": len(steps[stage]),
            "step_seconds": round(seconds, 2),
            "longest_step_seconds": round(max(steps[stage], default=0.0), 2),
            "compute_seconds": round(compute[stage], 2),
        }
        if stage in STAGE_UNIT:
            unit = STAGE_UNIT[stage][0]
            figures[unit] = counted[stage]
            figures[f"{unit}_per_step_second"] = round(counted[stage] / seconds, 1) if seconds else None
        stages[stage] = figures
    walls = {
        phase: round(max(end for _, end in spans) - min(start for start, _ in spans), 2)
        for phase, spans in phases.items()
    }
    return {"stages": stages, "phase_seconds": walls, **{name: totals[name] for name in PUBLISHED_NAMES}}


def run_mode(mode: str, env: dict[str, str], source_ids: list[str], out: str) -> None:
    """One mode, in a process of its own (the coordinator whose tree is measured): its figures
    to the JSON file `out`."""
    os.environ.update(env)
    if mode == "in_process":
        os.environ.pop(PG_URL_VARIABLE, None)
    settings = ServicemapSettings(
        sources_path=env["SERVICEMAP_SOURCES"],
        database_url=env["SERVICEMAP_DATABASE_URL"],
        work_dir=env["SERVICEMAP_WORK_DIR"],
    )
    with dg.DagsterInstance.get() as instance:
        started = time.perf_counter()
        if mode == "in_process":
            run_pipeline(settings, instance)  # its runs log at WARNING, like QUIET
        else:
            sync_source_partitions(instance, source_ids)
            run_config = celery_execution(BROKER, BROKER) | QUIET
            run_distributed(instance, source_ids, run_config, parallel_sources=WORKERS)
        wall = time.perf_counter() - started
        figures = {
            "wall_seconds": round(wall, 2),
            "instance_storage": type(instance.run_storage).__name__,
            **stage_figures(instance),
        }
    Path(out).write_text(json.dumps(figures), encoding="utf-8")


def celery_unavailable() -> str | None:
    """Why the Celery run cannot happen here, or None."""
    try:
        redis.Redis.from_url(BROKER, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        return f"Redis does not answer at {BROKER} ({exc}); start it with scripts/services-up"
    try:
        psycopg.connect(ADMIN_URL, connect_timeout=2).close()
    except psycopg.OperationalError as exc:
        return f"PostgreSQL does not answer at 127.0.0.1:5432 ({exc}); start it with scripts/services-up"
    return None


def fresh_instance_database() -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {INSTANCE_DATABASE} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {INSTANCE_DATABASE}")
    redis.Redis.from_url(BROKER).flushdb()


def start_workers(work: Path, env: dict[str, str], stack: ExitStack) -> list[subprocess.Popen]:
    """Two `celery worker` processes, one task at a time each, as tests/test_celery.py starts
    them; returns once both answer a ping, so that their start is not timed."""
    celery = Path(sys.executable).with_name("celery")
    workers = []
    for number in range(1, WORKERS + 1):
        log = stack.enter_context((work / f"worker{number}.log").open("w"))
        command = [str(celery), "-A", "dagster_celery.app", "-b", BROKER, "--result-backend", BROKER]
        command += ["worker", "--concurrency=1", "--prefetch-multiplier=1", "-Q", "dagster"]
        command += ["-n", f"servicemap-bench-{number}@%h", "--loglevel=INFO"]
        worker = subprocess.Popen(command, cwd=REPOSITORY, env=env, stdout=log, stderr=log)
        stack.callback(_stop, worker)
        workers.append(worker)
    app = Celery(broker=BROKER, backend=BROKER)
    deadline = time.monotonic() + 120
    while len(app.control.ping(timeout=1.0) or []) < WORKERS:
        if time.monotonic() > deadline or any(w.poll() is not None for w in workers):
            raise BenchmarkFailed(f"the Celery workers did not start: see {work}/worker*.log")
    return workers


def _stop(worker: subprocess.Popen) -> None:
    worker.terminate()
    worker.wait(timeout=60)


def measure(mode: str, work: Path, sources: Path, source_ids: list[str]) -> dict:
    """Run `mode` in a child process with its own instance and directory; its figures."""
    mode_dir = work / mode
    env = {
        **os.environ,
        "DAGSTER_HOME": str(dagster_home(mode_dir / "dagster")),
        "SERVICEMAP_SOURCES": str(sources),
        "SERVICEMAP_DATABASE_URL": f"sqlite:///{mode_dir / 'directory.sqlite'}",
        "SERVICEMAP_WORK_DIR": str(mode_dir / "work"),
    }
    if mode == "celery":
        env[PG_URL_VARIABLE] = INSTANCE_URL
        fresh_instance_database()
    out = mode_dir / "figures.json"
    load_before = os.getloadavg()
    cpu_before = _cpu_seconds()
    with ExitStack() as stack:
        workers = start_workers(mode_dir, env, stack) if mode == "celery" else []
        runner = multiprocessing.get_context("spawn").Process(
            target=run_mode, args=(mode, env, source_ids, str(out))
        )
        runner.start()
        roots = {"coordinator": [runner.pid]} | ({"workers": [w.pid for w in workers]} if workers else {})
        with TreeMemory(roots) as memory:
            runner.join()
        if runner.exitcode != 0 or any(w.poll() is not None for w in workers):
            raise BenchmarkFailed(f"the {mode} run failed (exit {runner.exitcode}): see {mode_dir}")
    pipeline_cpu, own_cpu = (after - before for after, before in zip(_cpu_seconds(), cpu_before, strict=True))
    figures = json.loads(out.read_text(encoding="utf-8"))
    return {
        "mode": mode,
        **figures,
        "peak_memory": memory.figures(),
        "cpu_seconds": {
            "pipeline": round(pipeline_cpu, 1),
            "site_servers": round(own_cpu, 1),
            # The workers' start and stop are in the CPU, not in the run's wall time: an upper bound.
            "cores_busy": round((pipeline_cpu + own_cpu) / figures["wall_seconds"], 2),
        },
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }


def _cpu_seconds() -> tuple[float, float]:
    """CPU seconds of the ended child processes (the coordinator, the crawls below it, the
    workers once stopped: each waited for by its parent) and of this process (the site servers
    and the memory sampler)."""
    children, own = resource.getrusage(resource.RUSAGE_CHILDREN), resource.getrusage(resource.RUSAGE_SELF)
    return children.ru_utime + children.ru_stime, own.ru_utime + own.ru_stime


def ratios(in_process: dict, celery: dict) -> dict:
    """celery / in-process, for the whole, each phase and each stage's summed step time."""

    def ratio(a: float, b: float) -> float | None:
        return round(b / a, 2) if a else None

    return {
        "wall": ratio(in_process["wall_seconds"], celery["wall_seconds"]),
        **{
            f"{phase} phase": ratio(in_process["phase_seconds"][phase], celery["phase_seconds"][phase])
            for phase in ("ingest", "directory")
        },
        **{
            stage: ratio(in_process["stages"][stage]["step_seconds"], celery["stages"][stage]["step_seconds"])
            for stage in STAGES
        },
        "peak memory": ratio(in_process["peak_memory"]["total_mb"], celery["peak_memory"]["total_mb"]),
    }


def markdown(results: dict) -> str:
    runs = sorted(results["runs"].values(), key=lambda run: run["region"]["pages"])
    latest = max(runs, key=lambda run: run["date"])
    region, modes = latest["region"], latest["modes"]
    a, b = modes["in_process"], modes["celery"]
    lines = [
        "# Scale benchmark: a generated region from crawl to publish",
        "",
        f"- command: `{latest['command']}`",
        f"- date: {latest['date']}",
        f"- machine: {latest['machine']}",
        f"- load average (1, 5, 15 min) before the in-process run {a['load_average_before']}, before the "
        f"Celery run {b['load_average_before']}, after it {b['load_average_after']}; other work shared "
        "the cores",
        f"- region: {region['sites']} sites × {region['pages_per_site']} pages = {region['pages']} pages, "
        f"{region['product_pages']} product pages (one record each) of "
        f"{region['services_in_truth']} generated services; served from memory on 127.0.0.1, "
        "politeness off (no delay, no AutoThrottle, 8 requests per site)",
        f"- in-process: `run_pipeline`, sources one after the other, run storage {a['instance_storage']}; "
        f"celery: `run_distributed` on {WORKERS} workers (one task each at a time), two source runs at "
        f"a time, run storage {b['instance_storage']}, Redis broker",
        "",
        "| | in-process | celery | celery / in-process |",
        "|---|---:|---:|---:|",
        f"| wall time, whole (s) | {a['wall_seconds']} | {b['wall_seconds']} | {latest['ratios']['wall']} |",
    ]
    for phase in ("ingest", "directory"):
        lines.append(
            f"| wall time, {phase} runs (s) | {a['phase_seconds'][phase]} | {b['phase_seconds'][phase]} "
            f"| {latest['ratios'][phase + ' phase']} |"
        )
    lines.append(
        f"| peak memory, process trees (MB) | {a['peak_memory']['total_mb']} "
        f"| {b['peak_memory']['total_mb']} | {latest['ratios']['peak memory']} |"
    )
    lines.append(
        f"| largest single process (MB) | {a['peak_memory']['largest_process_mb']} "
        f"| {b['peak_memory']['largest_process_mb']} | |"
    )
    for key, label in (
        ("pipeline", "CPU s, pipeline processes"),
        ("site_servers", "CPU s, the sites' servers (this process)"),
        (
            "cores_busy",
            f"cores busy (all CPU s / wall s, of {os.cpu_count()})",
        ),
    ):
        lines.append(f"| {label} | {a['cpu_seconds'][key]} | {b['cpu_seconds'][key]} | |")
    for key, label in COUNTED.items():
        lines.append(f"| {label} | {a[key]} | {b[key]} | |")
    lines += [
        "",
        "Per stage: summed step time from each run's event log (step start to success, loading and",
        "storing the step's values included), the assets' own `duration (s)`, and the throughput per",
        "second of step time.",
        "",
        "| stage | steps | in-process step s | celery step s | ratio | in-process asset s | longest step s "
        "(in-process) | throughput (in-process) |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for stage in STAGES:
        x, y = a["stages"][stage], b["stages"][stage]
        unit = STAGE_UNIT.get(stage, ("",))[0]
        rate = f"{x[unit + '_per_step_second']} {unit}/s" if unit else ""
        lines.append(
            f"| {stage} | {x['steps']} | {x['step_seconds']} | {y['step_seconds']} | "
            f"{latest['ratios'][stage]} | {x['compute_seconds']} | {x['longest_step_seconds']} | {rate} |"
        )
    lines += [
        "",
        "## Every size measured (the directory run is one run whatever the number of workers)",
        "",
        "| sites × pages | pages | records | services | in-process wall s | celery wall s | ratio | "
        "dedup step s | classify step s | publish step s | directory run s | peak MB in-process / celery |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for run in runs:
        x, y = run["modes"]["in_process"], run["modes"]["celery"]
        lines.append(
            f"| {run['region']['sites']} × {run['region']['pages_per_site']} | {x['pages_fetched']} | "
            f"{x['records_crawled']} | {x['services_published']} | {x['wall_seconds']} | "
            f"{y['wall_seconds']} | {run['ratios']['wall']} | {x['stages']['dedup']['step_seconds']} | "
            f"{x['stages']['classify']['step_seconds']} | {x['stages']['publish']['step_seconds']} | "
            f"{x['phase_seconds']['directory']} | {x['peak_memory']['total_mb']} / "
            f"{y['peak_memory']['total_mb']} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sites", type=int, default=50, help="websites in the region")
    parser.add_argument("--pages", type=int, default=400, help="pages per website (home, listings, products)")
    parser.add_argument("--seed", type=int, default=SEED, help="the region generator's seed")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where scale.json and scale.md go")
    args = parser.parse_args()
    problem = celery_unavailable()
    if problem:
        raise SystemExit(problem)
    with tempfile.TemporaryDirectory(prefix="servicemap-scale-bench-") as temp:
        work = Path(temp)
        region = generate_region(work / "sites", args.sites, args.pages, args.seed)
        print(f"generated {region}", flush=True)
        with ExitStack() as stack:
            servers = [
                stack.enter_context(MemorySite(work / "sites" / site_id(k))) for k in range(args.sites)
            ]
            source_ids = write_sources(work / "sources.yaml", [s.origin for s in servers], args.pages)
            modes = {}
            for mode in MODES:
                modes[mode] = measure(mode, work, work / "sources.yaml", source_ids)
                print(mode, json.dumps({k: v for k, v in modes[mode].items() if k != "stages"}), flush=True)
    run = {
        "command": "python benchmarks/scale.py " + " ".join(sys.argv[1:]),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}, "
        f"Dagster {version('dagster')}, Scrapy {version('scrapy')}",
        "region": region,
        "modes": modes,
        "ratios": ratios(modes["in_process"], modes["celery"]),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "scale.json"
    results = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {"runs": {}}
    results["runs"][f"{args.sites}x{args.pages}"] = run
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (args.out / "scale.md").write_text(markdown(results), encoding="utf-8")
    print(markdown(results))


if __name__ == "__main__":
    main()
