"""HTTP API throughput and latency under a bounded load, with the search function as the reference.

Run on demand: `python benchmarks/api.py [--services N] [--seconds S] [--clients C] [--workers W]`.
uvicorn serves `create_app` on 127.0.0.1 (a port the OS picks) in a child process with W workers;
a second process sends the load: C concurrent httpx clients for S seconds per scenario, each
timing its own requests. Scenarios, on the demo directory (`servicemap run --demo`) and on a
generated directory of N services (the generator of benchmarks/search.py):
- `/services/{id}` for ids drawn from all active services;
- `/services?search=…` with and without filters (the quality set's queries and name words),
  under C clients and under one client;
- the same searches through `search()` called directly in this process, one at a time: the
  reference. The rate limit is raised above the load: every request comes from 127.0.0.1.
Writes `benchmarks/results/api.json` and `api.md`.

Targets (issue 9): `/services/{id}` p99 < 10 ms and >= 500 requests/s per worker; search p95
< 100 ms at 100,000 services and within 1.5x of the direct call.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import multiprocessing
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import httpx
from sqlalchemy import text

from servicemap.classify import load_taxonomy
from servicemap.publish import directory_engine, publish_directory
from servicemap.search import InvalidQuery, search
from servicemap.search.query import MAX_LIMIT

RESULTS = Path(__file__).with_name("results")
TARGETS = {
    "by_id_p99_ms": 10.0,
    "by_id_rps_per_worker": 500.0,
    "search_p95_ms": 100.0,
    "search_vs_direct": 1.5,
}
DATABASE_VARIABLE = "SERVICEMAP_BENCHMARK_DATABASE"
# search()'s keyword -> the API's query parameter.
API_PARAMETERS = {"near_postcode": "postcode"}


def _search_benchmark():
    """benchmarks/search.py, imported by path: its generator and queries are the ones to reuse."""
    spec = importlib.util.spec_from_file_location("search_benchmark", Path(__file__).with_name("search.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def served_app():
    """The app each uvicorn worker builds (a factory: workers are separate processes)."""
    from servicemap.api import create_app
    from servicemap.api.security import SecuritySettings
    from servicemap.publish import directory_engine

    url = os.environ[DATABASE_VARIABLE]
    # Opened (and migrated) before the first request: twenty requests at once into a fresh
    # worker would otherwise each start the first-use migration, which is not thread-safe.
    directory_engine(url)
    unlimited = SecuritySettings(requests_per_second=1_000_000, burst=1_000_000)
    return create_app(url, security=unlimited)


def _serve(url: str, workers: int, ports: multiprocessing.Queue) -> None:
    """uvicorn with `workers` processes on a socket bound here to port 0; reports the port."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    os.environ[DATABASE_VARIABLE] = url
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.set_inheritable(True)
    config = uvicorn.Config(
        f"{Path(__file__).stem}:served_app",
        factory=True,
        workers=workers,
        log_level="warning",
        access_log=False,
        timeout_keep_alive=60,  # a client's connection is never dropped between two requests
    )
    ports.put(sock.getsockname()[1])
    Multiprocess(config, sockets=[sock]).run()


class Server:
    """The API in a child process, stopped on exit."""

    def __init__(self, url: str, workers: int):
        context = multiprocessing.get_context("spawn")
        ports = context.Queue()
        self.process = context.Process(target=_serve, args=(url, workers, ports))
        self.process.start()
        self.base = f"http://127.0.0.1:{ports.get(timeout=60)}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.base}/", timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the API at {self.base} did not answer within 60 s")
            time.sleep(0.2)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        self.process.join(timeout=30)


async def _load(base: str, paths: list[str], clients: int, seconds: float) -> dict:
    latencies: list[float] = []
    statuses: Counter[int | str] = Counter()
    stop = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def client(number: int, http: httpx.AsyncClient) -> None:
        at = number
        while time.perf_counter() < stop:
            started = time.perf_counter()
            try:
                status = (await http.get(paths[at % len(paths)])).status_code
            except httpx.TransportError as error:  # counted, not hidden: a dropped connection
                status = type(error).__name__
            latencies.append((time.perf_counter() - started) * 1000)
            statuses[status] += 1
            at += clients

    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as http:
        started = time.perf_counter()
        await asyncio.gather(*(client(n, http) for n in range(clients)))
        elapsed = time.perf_counter() - started
    return {"latencies": latencies, "statuses": dict(statuses), "seconds": elapsed}


def _load_process(
    base: str, paths: list[str], clients: int, seconds: float, out: multiprocessing.Queue
) -> None:
    out.put(asyncio.run(_load(base, paths, clients, seconds)))


def load(base: str, paths: list[str], clients: int, seconds: float) -> dict:
    """`clients` concurrent clients for `seconds`, from a second process; requests/s and latency."""
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    process = context.Process(target=_load_process, args=(base, paths, clients, seconds, out))
    process.start()
    result = out.get(timeout=seconds + 120)
    process.join()
    samples = result["latencies"]
    return {
        "clients": clients,
        "requests": len(samples),
        "requests_per_second": round(len(samples) / result["seconds"], 1),
        "statuses": result["statuses"],
        **percentiles(samples),
    }


def settle(base: str, paths: list[str], quick_ms: float = 1000, limit_s: float = 300) -> None:
    """One request at a time, each on a new connection (so on either worker), until ten in a
    row answer within `quick_ms`: every worker has built its per-version caches (search's
    vocabulary) and worked off what an earlier scenario left queued, so it is not measured."""
    quick = 0
    deadline = time.monotonic() + limit_s
    at = 0
    while quick < 10 and time.monotonic() < deadline:
        started = time.perf_counter()
        httpx.get(base + paths[at % len(paths)], timeout=limit_s)
        quick = quick + 1 if (time.perf_counter() - started) * 1000 < quick_ms else 0
        at += 1


def percentiles(samples: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return {"p50_ms": round(cuts[49], 2), "p95_ms": round(cuts[94], 2), "p99_ms": round(cuts[98], 2)}


def direct(url: str, queries: list[tuple[str, dict]], seconds: float) -> dict:
    """The reference: the same searches through `search()`, one at a time, as the API calls it."""
    samples = []
    stop = time.perf_counter() + seconds
    at = 0
    while time.perf_counter() < stop:
        query, filters = queries[at % len(queries)]
        started = time.perf_counter()
        search(url, query, limit=MAX_LIMIT, **filters)
        samples.append((time.perf_counter() - started) * 1000)
        at += 1
    return {"clients": 1, "requests": len(samples), **percentiles(samples)}


def usable_searches(url: str, candidates: list[tuple[str, dict]]) -> list[tuple[str, dict]]:
    """The candidates this directory can answer (a generated audience term may not exist in it)."""
    usable = []
    for query, filters in candidates:
        try:
            search(url, query, limit=1, **filters)
        except InvalidQuery:
            continue
        usable.append((query, filters))
    return usable


def search_path(query: str, filters: dict) -> str:
    params = {"search": query, **{API_PARAMETERS.get(k, k): v for k, v in filters.items()}}
    return "/services?" + urlencode(params)


def active_ids(url: str) -> list[str]:
    with directory_engine(url).connect() as connection:
        return list(
            connection.execute(
                text(
                    "SELECT s.id FROM service s JOIN directory_version v ON v.id = s.directory_version_id "
                    "WHERE v.is_current AND s.status = 'active'"
                )
            ).scalars()
        )


def measure(name: str, url: str, queries: list[tuple[str, dict]], args: argparse.Namespace) -> dict:
    rng = random.Random(args.seed)
    ids = active_ids(url)
    id_paths = [f"/services/{rng.choice(ids)}" for _ in range(50_000)]
    searches = usable_searches(url, queries)
    search_paths = [search_path(q, f) for q, f in searches]
    print(f"{name}: {len(ids)} services, {len(searches)} searches", flush=True)
    figures = {"services": len(ids), "searches": len(searches), "scenarios": {}}
    with Server(url, args.workers) as server:
        for scenario, paths, clients in (
            ("/services/{id}", id_paths, args.clients),
            ("/services?search=…", search_paths, args.clients),
            ("/services?search=… (1 client)", search_paths, 1),
        ):
            settle(server.base, search_paths + id_paths[:50])
            figures["scenarios"][scenario] = load(server.base, paths, clients, args.seconds)
            print(f"  {scenario}: {figures['scenarios'][scenario]}", flush=True)
    figures["scenarios"]["search() direct"] = direct(url, searches, args.seconds)
    print(f"  search() direct: {figures['scenarios']['search() direct']}", flush=True)
    return figures


def demo_directory(work: Path) -> str:
    """The demo region crawled, merged, classified and published, as `servicemap run --demo` does."""
    url = f"sqlite:///{work / 'demo.sqlite'}"
    command = [str(Path(sys.executable).with_name("servicemap")), "run", "--demo", "--database", url]
    subprocess.run([*command, "--work-dir", str(work / "demo"), "--json"], check=True, capture_output=True)
    return url


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--demo-database", help="A published demo directory (default: run the demo now).")
    parser.add_argument(
        "--generated-database",
        help="A directory published from this generator with the same --services and --seed "
        "(default: generate and publish it now).",
    )
    args = parser.parse_args()

    bench = _search_benchmark()
    directories = {}
    with tempfile.TemporaryDirectory() as work:
        work_dir = Path(work)
        demo = args.demo_database or demo_directory(work_dir)
        generated = bench.generate(args.services, args.seed)
        kinds = bench.make_queries(generated, args.queries, args.seed)
        queries = kinds["plain"] + kinds["filtered"]
        directories["demo"] = measure("demo", demo, queries, args)
        large = args.generated_database
        if large is None:
            large = f"sqlite:///{work_dir / 'generated.sqlite'}"
            started = time.perf_counter()
            publish_directory(large, generated, [], run_id="api-benchmark", synonyms=load_taxonomy().synonyms)
            print(f"published {len(generated)} services in {time.perf_counter() - started:.0f} s", flush=True)
        del generated
        directories[f"generated {args.services:,}"] = measure("generated", large, queries, args)
    figures = {
        "command": " ".join(["python", "benchmarks/api.py", *sys.argv[1:]]),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "backend": "sqlite",
        "workers": args.workers,
        "clients": args.clients,
        "seconds_per_scenario": args.seconds,
        "targets": TARGETS,
        "directories": directories,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "api.json").write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    (RESULTS / "api.md").write_text(markdown(figures), encoding="utf-8")
    print(markdown(figures))
    return 0


def markdown(f: dict) -> str:
    lines = [
        "# API benchmark",
        "",
        f"`{f['command']}` on {f['date']}: {f['machine']['cpus']} CPUs, Python {f['machine']['python']}, "
        f"{f['machine']['platform']}. uvicorn with {f['workers']} workers on 127.0.0.1, {f['backend']}; "
        f"load from a second process, {f['seconds_per_scenario']:g} s per scenario. The load generator, "
        "the workers and (for the reference) the direct calls share the machine's CPUs.",
        "",
        "| directory | scenario | clients | requests | req/s | p50 ms | p95 ms | p99 ms | statuses |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for directory, figures in f["directories"].items():
        for scenario, s in figures["scenarios"].items():
            lines.append(
                f"| {directory} ({figures['services']:,} services) | {scenario} | {s['clients']} | "
                f"{s['requests']:,} | {s.get('requests_per_second', '')} | {s['p50_ms']} | {s['p95_ms']} | "
                f"{s['p99_ms']} | {s.get('statuses', '')} |"
            )
    lines += ["", "## Against the targets", ""]
    t = f["targets"]
    for directory, figures in f["directories"].items():
        by_id = figures["scenarios"]["/services/{id}"]
        many = figures["scenarios"]["/services?search=…"]
        one = figures["scenarios"]["/services?search=… (1 client)"]
        reference = figures["scenarios"]["search() direct"]
        per_worker = by_id["requests_per_second"] / f["workers"]
        lines += [
            f"- {directory}: `/services/{{id}}` p99 {by_id['p99_ms']} ms (target < {t['by_id_p99_ms']:g}), "
            f"{per_worker:.0f} req/s per worker (target >= {t['by_id_rps_per_worker']:g}); search p95 "
            f"{many['p95_ms']} ms under {many['clients']} clients, {one['p95_ms']} ms for one client "
            f"(target < {t['search_p95_ms']:g}); one client vs the direct call: "
            f"{one['p95_ms'] / reference['p95_ms']:.2f}x at p95 (target <= {t['search_vs_direct']:g}x).",
        ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
