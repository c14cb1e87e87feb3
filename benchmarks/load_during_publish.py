"""The API under load while the directory is published again and again: no errors but the rate
limit's deliberate 429s, and every answer from one directory version, never a mix.

Run on demand: `python benchmarks/load_during_publish.py [--seconds 60] [--clients 50]
[--postgres URL]`. This process serves the API (uvicorn, 127.0.0.1, a free port) over a
directory and publishes a new version of it in a loop; a second process (this script with
`client`) sends requests from `--clients` concurrent connections for `--seconds`. Version k
has `BASE + k % 3` active services, each description ending in '[versie k]', so an answer
shows which version it was read from: the services of one answer carry one marker, their
number is that version's, and its ETag (the version id) is the id the publisher gave version k.
Writes `benchmarks/results/load_during_publish.json` and `.md` unless `--out` says elsewhere.
tests/test_load_during_publish.py runs it for 15 s at 20 clients.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
import uvicorn

from servicemap.api import create_app
from servicemap.api.security import SecuritySettings
from servicemap.classify import load_taxonomy
from servicemap.publish import engine_for, publish_directory
from servicemap.publish.rows import DOMAIN_TAXONOMY
from servicemap.records import ClassifiedService, Label
from servicemap.secrets import redact_url

RESULTS = Path(__file__).parent / "results"
EXTRA = 3  # version k has k % EXTRA extra services
# Below what the clients ask on two cores, so that the limit answers some with 429.
RATE = SecuritySettings(requests_per_second=40, burst=80)
REQUESTS = (
    "/services?per_page=100",
    "/services?per_page=100&search=hulp",
    "/services?per_page=100&domain=finances",
    "/",
)
_MARKER = re.compile(r"\[versie (\d+)\]$")


# (name, organisation, municipality, life domain): fictional services of a fictional region.
BASE = [
    ("Schuldhulpverlening", "Gemeente Brederwijk", "Brederwijk", "finances"),
    ("Thuisadministratie", "Humanitas Brederwijk", "Brederwijk", "finances"),
    ("Formulierenbrigade", "Stichting Welzijn Lindeloo", "Lindeloo", "finances"),
    ("Wijkteam Noord", "Gemeente Brederwijk", "Brederwijk", "daily_living"),
    ("Steunpunt Mantelzorg", "Stichting Welzijn Lindeloo", "Lindeloo", "family_and_caregiving"),
    ("Maatjesproject Samen Op Pad", "Vrijwilligerscentrale Lindeloo", "Lindeloo", "social_participation"),
    ("Buurthuis De Linde", "Stichting Welzijn Lindeloo", "Lindeloo", "social_participation"),
    ("Juridisch Spreekuur", "Sociaal Raadslieden Brederwijk", "Brederwijk", "legal_and_safety"),
    ("Inloop GGZ De Haven", "GGZ Brederwijk", "Brederwijk", "mental_wellbeing"),
    ("Beweegmaatje", "Sportbedrijf Lindeloo", "Lindeloo", "physical_health"),
]


def base_services() -> list[ClassifiedService]:
    taxonomy = {t.id: t for t in load_taxonomy().taxonomies}[DOMAIN_TAXONOMY]
    labels = {term.id: term.label.nl for term in taxonomy.terms}
    return [
        ClassifiedService(
            id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"https://load.servicemap.example/{name}")),
            name=name,
            organization=organization,
            municipality=municipality,
            description=f"{name} helpt inwoners van {municipality} met hulp en advies.",
            labels=[
                Label(
                    taxonomy=DOMAIN_TAXONOMY,
                    term=domain,
                    term_label=labels[domain],
                    confidence=0.9,
                    evidence=[f"categorie: {labels[domain]}"],
                )
            ],
        )
        for name, organization, municipality, domain in BASE
    ]


def version_services(base: list[ClassifiedService], k: int) -> list[ClassifiedService]:
    """The services of version `k`: the base ones and k % EXTRA more, each marked with `k`."""
    extra = [
        base[i].model_copy(
            update={"id": _extra_id(i), "name": f"{base[i].name} (tweede locatie)", "members": []}
        )
        for i in range(k % EXTRA)
    ]
    return [s.model_copy(update={"description": f"{s.description} [versie {k}]"}) for s in [*base, *extra]]


def _extra_id(i: int) -> str:
    return f"00000000-0000-4000-8000-{i + 1:012d}"


def expected_count(base: int, k: int) -> int:
    return base + k % EXTRA


# --- the client process ------------------------------------------------------------------


async def _client(http: httpx.AsyncClient, deadline: float, number: int, seen: dict) -> None:
    request = number
    while time.monotonic() < deadline:
        path = REQUESTS[request % len(REQUESTS)]
        request += 1
        started = time.perf_counter()
        try:
            response = await http.get(path)
        except httpx.HTTPError as error:
            left = deadline - time.monotonic()
            seen["errors"].append(f"{path} ({left:.1f} s before the end): {type(error).__name__}: {error}")
            continue
        seen["statuses"][response.status_code] = seen["statuses"].get(response.status_code, 0) + 1
        if response.status_code == 429:
            await asyncio.sleep(min(1.0, float(response.headers.get("retry-after", "1"))))
            continue
        if response.status_code != 200:
            seen["errors"].append(f"{path}: {response.status_code} {response.text[:200]}")
            continue
        seen["latencies"].append(time.perf_counter() - started)
        _check(path, response, seen)


def _check(path: str, response: httpx.Response, seen: dict) -> None:
    """Record which version the answer came from, and any answer mixing versions."""
    etag = response.headers["etag"].strip('"')
    body = response.json()
    if path == "/":
        seen["root_counts"].setdefault(etag, set()).add(body["directory_version"]["services"])
        if body["directory_version"]["id"] != etag:
            seen["mixed"].append(f"/: body version {body['directory_version']['id']} under ETag {etag}")
        return
    # An inactive service keeps the content of the last version that had it: not a mix.
    active = [s for s in body["contents"] if s.get("status") == "active"]
    markers = {_MARKER.search(s.get("description") or "") for s in active}
    versions = {int(m.group(1)) if m else None for m in markers}
    if len(versions) > 1 or None in versions:
        seen["mixed"].append(f"{path}: versions {sorted(map(str, versions))} under ETag {etag}")
        return
    if versions:
        [k] = versions
        seen["versions"].setdefault(etag, set()).add(k)
        if path == REQUESTS[0]:
            seen["listed"].setdefault(etag, set()).add(body["total_items"])


async def _load(base_url: str, seconds: float, clients: int) -> dict:
    seen: dict = {
        "statuses": {},
        "errors": [],
        "mixed": [],
        "latencies": [],
        "versions": {},
        "listed": {},
        "root_counts": {},
    }
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as http:
        await asyncio.gather(*(_client(http, deadline, n, seen) for n in range(clients)))
    latencies = sorted(seen.pop("latencies"))
    seen["answered"] = len(latencies)
    seen["latency_ms"] = {
        "p50": round(1000 * statistics.median(latencies), 1) if latencies else None,
        "p95": round(1000 * latencies[int(0.95 * (len(latencies) - 1))], 1) if latencies else None,
        "max": round(1000 * latencies[-1], 1) if latencies else None,
    }
    for key in ("versions", "listed", "root_counts"):
        seen[key] = {etag: sorted(values) for etag, values in seen[key].items()}
    return seen


def client_main(base_url: str, seconds: float, clients: int) -> None:
    print(json.dumps(asyncio.run(_load(base_url, seconds, clients))))


# --- the serving and publishing process --------------------------------------------------


def run(url: str, seconds: float, clients: int) -> dict:
    """Serve `url`, load it from a second process and publish meanwhile; the summary."""
    base = base_services()
    published = {publish_directory(url, version_services(base, 0), [], run_id="load-0").id: 0}
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(url, security=RATE),
            host="127.0.0.1",
            port=0,
            log_level="warning",
            # Longer than the run: a keep-alive connection the server closes just as a client
            # sends on it is a client's retry to make, not an error of the API.
            timeout_keep_alive=int(seconds) + 60,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    command = [sys.executable, __file__, "client", f"http://127.0.0.1:{port}", str(seconds), str(clients)]
    publish_seconds = []
    try:
        with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as client:
            k = 0
            while client.poll() is None:
                k += 1
                started = time.perf_counter()
                version = publish_directory(url, version_services(base, k), [], run_id=f"load-{k}")
                publish_seconds.append(time.perf_counter() - started)
                published[version.id] = k
            output, _ = client.communicate()
    finally:
        server.should_exit = True
        thread.join(timeout=30)
    if client.returncode != 0:
        raise RuntimeError(f"the load client failed with exit code {client.returncode}")
    seen = json.loads(output)
    wrong = [
        f"ETag {etag}: services of versions {ks}, published as version {published.get(etag)}"
        for etag, ks in seen["versions"].items()
        if ks != [published.get(etag)]
    ]
    wrong += [
        f"ETag {etag}: {counts} services listed, version {published[etag]} has "
        f"{expected_count(len(base), published[etag])}"
        for etag, counts in seen["listed"].items()
        if etag in published and counts != [expected_count(len(base), published[etag])]
    ]
    return {
        "backend": redact_url(url).split(":", 1)[0],
        "seconds": seconds,
        "clients": clients,
        "publishes": len(publish_seconds),
        "publish_s_median": round(statistics.median(publish_seconds), 3) if publish_seconds else None,
        "versions_answered": len(seen["versions"]),
        "requests": sum(seen["statuses"].values()) + len(seen["errors"]),
        "statuses": seen["statuses"],
        "answered_200": seen["answered"],
        "latency_ms": seen["latency_ms"],
        "errors": seen["errors"],
        "mixed": seen["mixed"] + wrong,
    }


def _markdown(results: list[dict]) -> str:
    lines = [
        "# Load during publish",
        "",
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; taken on a shared machine under load from other work.",
        "",
        "| backend | s | clients | requests | 200 | 429 | errors | mixed | publishes | versions seen "
        "| p50 ms | p95 ms |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['backend']} | {r['seconds']:g} | {r['clients']} | {r['requests']} | "
            f"{r['answered_200']} | {r['statuses'].get('429', 0)} | {len(r['errors'])} | "
            f"{len(r['mixed'])} | {r['publishes']} | {r['versions_answered']} | "
            f"{r['latency_ms']['p50']} | {r['latency_ms']['p95']} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "client":
        client_main(sys.argv[2], float(sys.argv[3]), int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--postgres", help="also run on this (emptied) PostgreSQL database URL")
    parser.add_argument("--sqlite", help="the SQLite file to use (default: a temporary one)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the .json and .md go")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        urls = [f"sqlite:///{args.sqlite or Path(scratch) / 'directory.db'}"]
        if args.postgres:
            urls.append(args.postgres)
        results = []
        for url in urls:
            results.append(run(url, args.seconds, args.clients))
            engine_for(url).dispose()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "load_during_publish.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    (args.out / "load_during_publish.md").write_text(_markdown(results), encoding="utf-8")
    print(_markdown(results))


if __name__ == "__main__":
    main()
