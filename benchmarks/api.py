"""HTTP API throughput and latency under a bounded load, with the search function as the reference.

Run on demand: `python benchmarks/api.py [--services N] [--seconds S] [--clients C] [--workers W]`;
needs wrk (`apt-get install -y wrk`): a Python client on the same two cores measured itself more
than the API. uvicorn serves `create_app` on 127.0.0.1 (a port the OS picks) in a child process
with W workers; wrk sends the load from C connections, a wrk thread each, for S seconds per
scenario. Scenarios, on the demo directory (`servicemap run --demo`) and on a generated
directory of N services (the generator of benchmarks/search.py):
- `/services/{id}` for ids drawn from all active services (at 100,000 nearly every body is
  read from the database), as fast as the connections go and paced to the target rate;
- `/services/{id}` over POPULAR ids, whose bodies each worker keeps;
- `/services?search=…` with and without filters (the quality set's queries and name words),
  under C connections as fast as they go, under C connections at a bounded rate
  (SEARCHES_PER_SECOND in all), and under one;
- the same searches through `search()` called directly in this process, one at a time: the
  reference, taking ROUNDS turns with the one-client scenario so that both see the same
  spells of the machine;
- and once more, each call made straight after a round trip over a loopback connection to
  an echoing process, as a server's search always follows a wait on its socket: what that
  wait costs the next search on this machine, shown beside the reference (not a target).
The rate limit is raised above the load: every request comes from 127.0.0.1.
Writes `benchmarks/results/api.json` and `api.md`; `api.postgresql.json` and `.md` when
--generated-database is a PostgreSQL directory (e.g. the one benchmarks/search.py publishes).

Targets (issue 9): `/services/{id}` p99 < 10 ms and >= 500 requests/s per worker; search p95
< 100 ms at 100,000 services and within 1.5x of the direct call.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import httpx

# benchmarks/search.py (this script's directory is on the path): its generator and queries are
# the ones to reuse.
import search as search_benchmark
from sqlalchemy import text

from servicemap.classify import load_taxonomy
from servicemap.publish import backend, directory_engine, publish_directory
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
ERROR_COUNTS = ("connect_errors", "read_errors", "write_errors", "timeouts", "not_2xx_3xx")
# Services asked for again and again, as a few services are in practice: their bodies stay
# in each worker's cache.
POPULAR = 1_000
BY_ID = "/services/{id}"
BY_ID_PACED = "/services/{id}, paced to the target rate"
# The paced scenario aims this much above the target rate, so that it reaches it.
PACE_ABOVE_TARGET = 1.1
BY_ID_POPULAR = f"/services/{{id}}, {POPULAR:,} popular ids"
SEARCH = "/services?search=…"
SEARCH_ONE = "/services?search=… (1 client)"
# The bounded search load: a region's professionals searching together, well below what two
# workers can answer, so that its latency is the API's and not a queue's.
SEARCHES_PER_SECOND = 50
SEARCH_BOUNDED = f"/services?search=…, at most {SEARCHES_PER_SECOND} searches/s"
DIRECT = "search() direct"
DIRECT_AFTER_WAIT = "search() direct, each after a loopback round trip"
# The one-client searches and the direct calls take turns, this many each.
ROUNDS = 3
# search()'s keyword -> the API's query parameter.
API_PARAMETERS = {"near_postcode": "postcode"}


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


WRK_SCRIPT = """
-- Generated by benchmarks/api.py: each thread (one connection) walks the paths from its own
-- offset and keeps every request's latency (microseconds, from sending to the whole answer); the run's counts
-- and every thread's latencies go to a JSON file.
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } servicemap_timespec;
int clock_gettime(int clock, servicemap_timespec *out);
]]
local clock = ffi.new("servicemap_timespec")
local function now_us()
  ffi.C.clock_gettime(1, clock)  -- CLOCK_MONOTONIC
  return tonumber(clock.tv_sec) * 1000000 + tonumber(clock.tv_nsec) / 1000
end
local paths = {}
for line in io.lines(%(paths)s) do paths[#paths + 1] = line end
local counter = 0
local sent = 0
latencies = {}
local threads = {}
function setup(thread)
  thread:set("offset", #threads * 7919)
  threads[#threads + 1] = thread
end
function init(args)
  counter = tonumber(wrk.thread:get("offset")) or 0
end
function request()
  counter = counter + 1
  sent = now_us()
  return wrk.format("GET", paths[(counter %% #paths) + 1])
end
function response(status, headers, body)
  latencies[#latencies + 1] = math.floor(now_us() - sent)
end
%(delay)s
function done(summary, latency, requests)
  local e = summary.errors
  local out = io.open(%(out)s, "w")
  out:write(string.format(
    '{"requests": %%d, "microseconds": %%d, "connect_errors": %%d, "read_errors": %%d, ' ..
    '"write_errors": %%d, "timeouts": %%d, "not_2xx_3xx": %%d, "corrected_p99": %%d, "latencies": [',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.timeout, e.status,
    latency:percentile(99)))
  local first = true
  for _, thread in ipairs(threads) do
    for _, value in ipairs(thread:get("latencies")) do
      out:write(first and "" or ",", value)
      first = false
    end
  end
  out:write("]}")
  out:close()
end
"""


def wrk_path() -> str:
    """The wrk binary; the benchmark refuses to run without it, as a Python client on the same
    cores would measure itself more than the API."""
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit("benchmarks/api.py needs wrk (HTTP load generator): apt-get install -y wrk")
    return found


def load(base: str, paths: list[str], clients: int, seconds: float, pace_ms: float | None = None) -> dict:
    """`clients` connections, each on its own wrk thread (so a thread's one clock times its one
    connection's request), for `seconds`, each sending the next
    path as soon as it has its answer or, with `pace_ms`, that long after it: requests/s, and
    the percentiles of what each request took, computed as the direct calls' are.

    wrk's own percentiles are not used: wrk corrects them for coordinated omission, adding for
    each slow answer the requests an open-loop client would have sent meanwhile. These
    connections send only after an answer (closed loop), as the direct calls do, so the
    correction would count one slow search many times over (at 100,000 services it made a
    17 ms p95 read as 97 ms). Its p99 is kept as `wrk_corrected_p99_ms`."""
    return _figures([_wrk(base, paths, clients, seconds, pace_ms)], clients, pace_ms)


def one_client_and_direct(
    base: str, url: str, paths: list[str], searches: list[tuple[str, dict]], seconds: float
) -> tuple[dict, dict, dict]:
    """The searches from one connection through the API, through `search()` called here, and
    through `search()` after a loopback round trip each, in ROUNDS alternating turns of
    `seconds` / ROUNDS each (whole seconds, as wrk takes them), every turn's samples pooled
    per side: they are compared under the same spells of this shared machine, not one after
    the other."""
    turn = max(1, round(seconds / ROUNDS))
    through_api, direct_samples, after_wait_samples = [], [], []
    with loopback_echo() as echo:
        for _ in range(ROUNDS):
            through_api.append(_wrk(base, paths, 1, turn))
            direct_samples += direct_latencies(url, searches, turn)
            after_wait_samples += direct_latencies(url, searches, turn, echo)
    return (
        _figures(through_api, 1),
        {"clients": 1, "requests": len(direct_samples), **percentiles(direct_samples)},
        {"clients": 1, "requests": len(after_wait_samples), **percentiles(after_wait_samples)},
    )


def _wrk(base: str, paths: list[str], clients: int, seconds: float, pace_ms: float | None = None) -> dict:
    """One wrk run (see `load`): its counts, and every request's latency in microseconds."""
    with tempfile.TemporaryDirectory() as work:
        listed, out, script = Path(work, "paths.txt"), Path(work, "summary.json"), Path(work, "load.lua")
        listed.write_text("\n".join(paths) + "\n", encoding="utf-8")
        delay = f"function delay() return {pace_ms:g} end" if pace_ms else ""
        script.write_text(
            WRK_SCRIPT % {"paths": json.dumps(str(listed)), "out": json.dumps(str(out)), "delay": delay},
            encoding="utf-8",
        )
        command = [
            wrk_path(),
            f"-t{clients}",
            f"-c{clients}",
            f"-d{seconds:g}s",
            "--timeout",
            "30s",
        ]
        subprocess.run([*command, "-s", str(script), base], check=True, capture_output=True)
        return json.loads(out.read_text(encoding="utf-8"))


def _figures(runs: list[dict], clients: int, pace_ms: float | None = None) -> dict:
    """The figures of one or more wrk runs of the same scenario, their requests pooled; wrk's
    corrected p99 is the worst run's."""
    errors = {k: sum(run[k] for run in runs) for k in ERROR_COUNTS}
    requests = sum(run["requests"] for run in runs)
    return {
        "clients": clients,
        **({"pace_ms": pace_ms} if pace_ms else {}),
        "requests": requests,
        "requests_per_second": round(requests / (sum(run["microseconds"] for run in runs) / 1e6), 1),
        "errors": {k: v for k, v in errors.items() if v},
        **percentiles([microseconds / 1000 for run in runs for microseconds in run["latencies"]]),
        "wrk_corrected_p99_ms": round(max(run["corrected_p99"] for run in runs) / 1000, 2),
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
    return {f"p{n}_ms": round(cuts[n - 1], 2) for n in (50, 90, 95, 99)}


def direct_latencies(
    url: str, queries: list[tuple[str, dict]], seconds: float, echo: socket.socket | None = None
) -> list[float]:
    """The reference: the same searches through `search()`, one at a time, as the API calls it
    (milliseconds each); with `echo`, each after a round trip of one byte over it (not timed)."""
    samples = []
    stop = time.perf_counter() + seconds
    at = 0
    while time.perf_counter() < stop:
        query, filters = queries[at % len(queries)]
        if echo is not None:
            echo.sendall(b".")
            echo.recv(1)
        started = time.perf_counter()
        search(url, query, limit=MAX_LIMIT, **filters)
        samples.append((time.perf_counter() - started) * 1000)
        at += 1
    return samples


@contextmanager
def loopback_echo() -> Iterator[socket.socket]:
    """A connection over 127.0.0.1 to a child process that sends back what it reads."""
    context = multiprocessing.get_context("spawn")
    ports = context.Queue()
    process = context.Process(target=_echo, args=(ports,))
    process.start()
    try:
        with socket.create_connection(("127.0.0.1", ports.get(timeout=60))) as connection:
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            yield connection
    finally:
        process.join(timeout=30)


def _echo(ports: multiprocessing.Queue) -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        ports.put(server.getsockname()[1])
        connection, _ = server.accept()
        with connection:
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            while data := connection.recv(64):
                connection.sendall(data)


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


def paced_wait_ms(clients: int, workers: int) -> float:
    """How long each connection waits after an answer for the paced scenario: the target rate
    and PACE_ABOVE_TARGET more, since an answer's own time adds to the wait (paced at exactly
    the target, 20 connections sent 947 requests/s of the 1,000)."""
    return clients / (PACE_ABOVE_TARGET * TARGETS["by_id_rps_per_worker"] * workers) * 1000


def measure(name: str, url: str, queries: list[tuple[str, dict]], args: argparse.Namespace) -> dict:
    rng = random.Random(args.seed)
    ids = active_ids(url)
    id_paths = [f"/services/{rng.choice(ids)}" for _ in range(50_000)]
    popular = [f"/services/{i}" for i in rng.sample(ids, min(POPULAR, len(ids)))]
    searches = usable_searches(url, queries)
    search_paths = [search_path(q, f) for q, f in searches]
    print(f"{name}: {len(ids)} services, {len(searches)} searches", flush=True)
    figures = {"services": len(ids), "searches": len(searches), "scenarios": {}}
    pace_ms = paced_wait_ms(args.clients, args.workers)
    with Server(url, args.workers) as server:
        for scenario, paths, clients, pace in (
            (BY_ID, id_paths, args.clients, None),
            (BY_ID_PACED, id_paths[len(id_paths) // 2 :], args.clients, pace_ms),
            (BY_ID_POPULAR, popular, args.clients, None),
            (SEARCH, search_paths, args.clients, None),
            (SEARCH_BOUNDED, search_paths, args.clients, args.clients / SEARCHES_PER_SECOND * 1000),
        ):
            settle(server.base, search_paths)
            figures["scenarios"][scenario] = load(server.base, paths, clients, args.seconds, pace)
            print(f"  {scenario}: {figures['scenarios'][scenario]}", flush=True)
        settle(server.base, search_paths)
        scenarios = figures["scenarios"]
        scenarios[SEARCH_ONE], scenarios[DIRECT], scenarios[DIRECT_AFTER_WAIT] = one_client_and_direct(
            server.base, url, search_paths, searches, args.seconds
        )
        for scenario in (SEARCH_ONE, DIRECT, DIRECT_AFTER_WAIT):
            print(f"  {scenario}: {figures['scenarios'][scenario]}", flush=True)
    return figures


def demo_directory(work: Path) -> str:
    """The demo region crawled, merged, classified and published, as `servicemap run --demo` does."""
    url = f"sqlite:///{work / 'demo.sqlite'}"
    command = [str(Path(sys.executable).with_name("servicemap")), "run", "--demo", "--database", url]
    subprocess.run([*command, "--work-dir", str(work / "demo"), "--json"], check=True, capture_output=True)
    return url


def load_average() -> str:
    """The 1, 5 and 15 minute load averages: other work on the machine shows in the figures."""
    where = Path("/proc/loadavg")
    return " ".join(where.read_text().split()[:3]) if where.exists() else "unknown"


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
    wrk_path()
    load_before = load_average()

    directories = {}
    with tempfile.TemporaryDirectory() as work:
        work_dir = Path(work)
        demo = args.demo_database or demo_directory(work_dir)
        generated = search_benchmark.generate(args.services, args.seed)
        kinds = search_benchmark.make_queries(generated, args.queries, args.seed)
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
        "backends": {"demo": backend(demo), "generated": backend(large)},
        "workers": args.workers,
        "clients": args.clients,
        "load_average": {"before": load_before, "after": load_average()},
        "seconds_per_scenario": args.seconds,
        "targets": TARGETS,
        "directories": directories,
    }
    RESULTS.mkdir(exist_ok=True)
    name = "api" if backend(large) == "sqlite" else f"api.{backend(large)}"
    (RESULTS / f"{name}.json").write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    (RESULTS / f"{name}.md").write_text(markdown(figures), encoding="utf-8")
    print(markdown(figures))
    return 0


def markdown(f: dict) -> str:
    lines = [
        "# API benchmark",
        "",
        f"`{f['command']}` on {f['date']}: {f['machine']['cpus']} CPUs, Python {f['machine']['python']}, "
        f"{f['machine']['platform']}; load average {f['load_average']['before']} before, "
        f"{f['load_average']['after']} after. uvicorn with {f['workers']} workers on 127.0.0.1, "
        f"the demo directory on {f['backends']['demo']}, the generated one on "
        f"{f['backends']['generated']}; load from wrk ({f['clients']} connections, a thread each), "
        f"{f['seconds_per_scenario']:g} s per scenario. wrk, the workers and (for the reference) "
        "the direct calls share the machine's CPUs. A paced scenario's connections each wait "
        f"{paced_wait_ms(f['clients'], f['workers']):.3g} ms after an "
        "answer (a little above the target rate in all): its latency is the API's at that rate, not "
        "under saturation. Percentiles are of what each request took (sent to whole answer), "
        "as for the direct calls; wrk's own p99, corrected for coordinated omission (it counts "
        "a slow answer once for every request an open-loop client would have sent meanwhile), "
        f"is in its own column. The one-client searches and the two kinds of direct calls take "
        f"{ROUNDS} turns each, alternating, and each kind's samples are pooled. The round trip "
        "before a direct call (one byte to an echoing process) is not timed.",
        "",
        "| directory | scenario | connections | requests | req/s | p50 ms | p90 ms | p95 ms | p99 ms "
        "| wrk's corrected p99 ms | errors |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for directory, figures in f["directories"].items():
        for scenario, s in figures["scenarios"].items():
            lines.append(
                f"| {directory} ({figures['services']:,} services) | {scenario} | {s['clients']} | "
                f"{s['requests']:,} | {s.get('requests_per_second', '')} | {s['p50_ms']} | {s['p90_ms']} | "
                f"{s['p95_ms']} | {s['p99_ms']} | {s.get('wrk_corrected_p99_ms', '')} | {_errors(s)} |"
            )
    lines += ["", "## Against the targets", ""]
    t = f["targets"]

    def met(ok: bool) -> str:
        return "met" if ok else "NOT met"

    for directory, figures in f["directories"].items():
        scenarios = figures["scenarios"]
        by_id, paced, popular = scenarios[BY_ID], scenarios[BY_ID_PACED], scenarios[BY_ID_POPULAR]
        many, one, reference = scenarios[SEARCH], scenarios[SEARCH_ONE], scenarios[DIRECT]
        bounded = scenarios[SEARCH_BOUNDED]
        per_worker = by_id["requests_per_second"] / f["workers"]
        paced_per_worker = paced["requests_per_second"] / f["workers"]
        paced_met = paced["p99_ms"] < t["by_id_p99_ms"] and paced_per_worker >= t["by_id_rps_per_worker"]
        popular_per_worker = popular["requests_per_second"] / f["workers"]
        ratio = one["p95_ms"] / reference["p95_ms"]
        after_wait = scenarios[DIRECT_AFTER_WAIT]
        lines += [
            f"- {directory}, `/services/{{id}}` throughput: {per_worker:.0f} req/s per worker over all ids, "
            f"{popular_per_worker:.0f} over {POPULAR:,} popular ids (target >= "
            f"{t['by_id_rps_per_worker']:g}): {met(per_worker >= t['by_id_rps_per_worker'])} over all ids, "
            f"{met(popular_per_worker >= t['by_id_rps_per_worker'])} over the popular ones.",
            f"- {directory}, `/services/{{id}}` p99: {paced['p99_ms']} ms at "
            f"{paced_per_worker:.0f} req/s per worker (paced), "
            f"{by_id['p99_ms']} ms saturated with {by_id['clients']} connections (target < "
            f"{t['by_id_p99_ms']:g}, at >= {t['by_id_rps_per_worker']:g} req/s per worker): "
            f"{met(paced_met)} at the paced rate, "
            f"{met(by_id['p99_ms'] < t['by_id_p99_ms'])} saturated.",
            f"- {directory}, search p95: {one['p95_ms']} ms for one client, {bounded['p95_ms']} ms at "
            f"{bounded['requests_per_second']:g} searches/s from {bounded['clients']} connections, "
            f"{many['p95_ms']} ms with {many['clients']} connections as fast as they go, i.e. "
            f"{many['requests_per_second']:g} searches/s (target < {t['search_p95_ms']:g}): "
            f"{met(one['p95_ms'] < t['search_p95_ms'])} for one client, "
            f"{met(bounded['p95_ms'] < t['search_p95_ms'])} under the bounded load, "
            f"{met(many['p95_ms'] < t['search_p95_ms'])} saturated; one client vs `search()` called "
            f"directly ({reference['p95_ms']} ms): {ratio:.2f}x at p95 "
            f"(target <= {t['search_vs_direct']:g}x): {met(ratio <= t['search_vs_direct'])}. "
            f"`search()` called directly after a loopback round trip each, as a server's search "
            f"follows a wait on its socket: {after_wait['p95_ms']} ms at p95, "
            f"{after_wait['p95_ms'] / reference['p95_ms']:.2f}x the direct call (shown, not a target).",
        ]
    return "\n".join(lines) + "\n"


def _errors(scenario: dict) -> str:
    """wrk's error counts; the direct calls have none to show."""
    if "errors" not in scenario:
        return ""
    return ", ".join(f"{k}: {v}" for k, v in scenario["errors"].items()) or "none"


if __name__ == "__main__":
    raise SystemExit(main())
