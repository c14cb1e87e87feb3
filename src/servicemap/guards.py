"""What must hold before a directory is published, and what an operator watches between runs:
no sudden drop in services, enough services a person can reach, sources crawled recently and
healthy, and a published API and export that conform to HSDS 3.0.

Each guard is a plain function that returns a `GuardResult`; the Dagster checks in
`pipelines/checks.py` only turn it into a check result."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, Field
from sqlalchemy import select

from servicemap.crawl import CrawlResult
from servicemap.publish import directory_engine
from servicemap.publish import tables as t
from servicemap.records import DirectoryService
from servicemap.reporting import markdown_table
from servicemap.sources import SourceConfig

ROBOTS_PATH = "/robots.txt"
NOT_MODIFIED = 304


class GuardResult(BaseModel):
    """A guard's verdict: whether it holds, one sentence that says why, its figures, and a
    small markdown table with the evidence."""

    passed: bool
    description: str
    figures: dict[str, int | float | str] = Field(default_factory=dict)
    table: str = "none"


# --- A drop in services against the last published version ---


class ServiceCounts(BaseModel):
    """Which services each source contributes to: a service with records of two sources counts for both."""

    by_source: dict[str, set[str]] = Field(default_factory=dict)

    @classmethod
    def of(cls, services: Iterable[DirectoryService]) -> ServiceCounts:
        by_source: dict[str, set[str]] = {}
        for service in services:
            for member in service.members:
                by_source.setdefault(member.source_id, set()).add(service.id)
        return cls(by_source=by_source)

    def count(self, source_id: str) -> int:
        return len(self.by_source.get(source_id, ()))

    def total(self, sources: Iterable[str]) -> int:
        """Services with a record of at least one of `sources`."""
        return len(set().union(*(self.by_source.get(s, set()) for s in sources)))


def published_service_counts(url: str) -> ServiceCounts | None:
    """The active services of the current version per source; None before the first publish."""
    versions = t.DirectoryVersion.__table__.c
    record, service = t.SourceRecord.__table__.c, t.Service.__table__.c
    with directory_engine(url).connect() as connection:
        version = connection.execute(select(versions.id).where(versions.is_current)).scalar()
        if version is None:
            return None
        rows = connection.execute(
            select(record.source_id, record.service_id)
            .distinct()
            .join_from(
                t.SourceRecord.__table__,
                t.Service.__table__,
                (service.id == record.service_id)
                & (service.directory_version_id == record.directory_version_id),
            )
            .where(record.directory_version_id == version, service.status == "active")
        )
        by_source: dict[str, set[str]] = {}
        for source_id, service_id in rows:
            by_source.setdefault(source_id, set()).add(service_id)
    return ServiceCounts(by_source=by_source)


def services_not_dropped(
    published: ServiceCounts | None, current: ServiceCounts, sources: Sequence[str], max_drop: float
) -> GuardResult:
    """No source, and not the whole directory, loses more than `max_drop` of the services it has
    in the published version: a site redesign that yields nothing must not empty the directory.
    Only `sources` (those still in sources.yaml) are judged: a source taken out is meant to go."""
    if published is None:
        return GuardResult(passed=True, description="first publish: nothing to compare with")
    rows, dropped = [], []
    for name, before, now in [
        *((s, published.count(s), current.count(s)) for s in sorted(sources)),
        ("(whole directory)", published.total(sources), current.total(sources)),
    ]:
        drop = (before - now) / before if before else 0.0
        if drop > max_drop:
            dropped.append(f"{name} {before} → {now} (-{drop:.0%})")
        rows.append(
            (name, before, now, f"{-drop:+.0%}" if before else "new", "**over**" if drop > max_drop else "")
        )
    return GuardResult(
        passed=not dropped,
        description=(
            f"more than {max_drop:.0%} of the published services would disappear: {'; '.join(dropped)}"
            if dropped
            else f"no source and not the directory lose more than {max_drop:.0%} of their services"
        ),
        figures={
            "limit": max_drop,
            "published services": published.total(sources),
            "services now": current.total(sources),
        },
        table=markdown_table(["source", "published", "now", "change", "limit"], rows),
    )


# --- Services a person can reach ---


def is_reachable(service: DirectoryService) -> bool:
    """A phone number, or an address precise enough to walk to (a street or a postcode)."""
    address = service.address
    return bool(service.phones) or (address is not None and bool(address.street or address.postcode))


def enough_services_reachable(services: Sequence[DirectoryService], min_share: float) -> GuardResult:
    """At least `min_share` of the services have a phone or an address: an extractor that loses
    contact details gives a directory a professional cannot refer anyone with."""
    reachable = sum(1 for s in services if is_reachable(s))
    share = reachable / len(services) if services else 0.0
    per_source: dict[str, list[int]] = {}
    for service in services:
        for source_id in sorted({m.source_id for m in service.members}):
            counts = per_source.setdefault(source_id, [0, 0])
            counts[0] += 1
            counts[1] += is_reachable(service)
    rows = [
        (s, n, r, f"{r / n:.0%}")
        for s, (n, r) in sorted(per_source.items(), key=lambda kv: kv[1][1] / kv[1][0])
    ]
    passed = bool(services) and share >= min_share
    return GuardResult(
        passed=passed,
        description=(
            f"{share:.0%} of {len(services)} services have a phone or an address "
            f"({'at least' if passed else 'below'} the {min_share:.0%} minimum)"
        ),
        figures={
            "services": len(services),
            "reachable": reachable,
            "share": round(share, 4),
            "minimum": min_share,
        },
        table=markdown_table(["source", "services", "with phone or address", "share"], rows),
    )


# --- Freshness and source health, from the snapshots of earlier crawls ---


class CrawlSnapshot(BaseModel):
    """The figures of one crawl that later runs compare with; kept in the crawl's metadata."""

    source_id: str
    started_at: datetime
    finished_at: datetime
    records: int
    pages_fetched: int
    http_errors: int
    fetch_errors: int
    robots_refusals: int
    robots_txt_status: int | None = None
    robots_txt_bytes: int | None = None
    process_errors: int = 0

    @classmethod
    def of(cls, crawl: CrawlResult) -> CrawlSnapshot:
        robots = [f for f in crawl.fetches if f.url.endswith(ROBOTS_PATH) and f.status is not None]
        kinds = crawl.errors_by_kind()
        return cls(
            source_id=crawl.source_id,
            started_at=crawl.started_at,
            finished_at=crawl.finished_at,
            records=crawl.items,
            pages_fetched=crawl.pages_fetched,
            http_errors=kinds.get("http_4xx", 0) + kinds.get("http_5xx", 0),
            fetch_errors=crawl.fetch_errors,
            robots_refusals=kinds.get("robots_forbidden", 0),
            robots_txt_status=robots[-1].status if robots else None,
            robots_txt_bytes=robots[-1].bytes if robots else None,
            process_errors=len(crawl.errors),
        )

    @property
    def succeeded(self) -> bool:
        """A crawl that ran to its end and found records: only such a crawl keeps a source fresh."""
        return self.process_errors == 0 and self.records > 0


class SourceHealth(BaseModel):
    """One source between runs: how old its last successful crawl is against its policy, and
    what changed in its last crawl compared with the one before."""

    source_id: str
    max_age_days: int
    last_success: datetime | None
    age_days: float | None
    stale: bool
    latest: CrawlSnapshot | None = None
    previous: CrawlSnapshot | None = None
    changes: list[str] = Field(default_factory=list)


def assess_sources(
    sources: Iterable[SourceConfig],
    history: Mapping[str, Sequence[CrawlSnapshot]],
    now: datetime,
    max_drop: float,
) -> list[SourceHealth]:
    """Each source's freshness and the changes an operator should look at; `history` holds each
    source's crawls, newest first."""
    health = []
    for source in sources:
        crawls = list(history.get(source.id, ()))
        success = next((c for c in crawls if c.succeeded), None)
        age = (now - success.finished_at).total_seconds() / 86400 if success else None
        latest, previous = (crawls + [None, None])[:2]
        health.append(
            SourceHealth(
                source_id=source.id,
                max_age_days=source.max_age_days,
                last_success=success.finished_at if success else None,
                age_days=round(age, 2) if age is not None else None,
                stale=age is None or age > source.max_age_days,
                latest=latest,
                previous=previous,
                changes=crawl_changes(latest, previous, max_drop) if latest and previous else [],
            )
        )
    return health


def crawl_changes(latest: CrawlSnapshot, previous: CrawlSnapshot, max_drop: float) -> list[str]:
    """What a site did differently since the crawl before: fewer records, more HTTP errors,
    a robots.txt that now answers differently or refuses more pages."""
    changes = []
    if previous.records and (previous.records - latest.records) / previous.records > max_drop:
        changes.append(f"yield {previous.records} → {latest.records} records")
    if latest.http_errors > previous.http_errors:
        changes.append(f"HTTP errors {previous.http_errors} → {latest.http_errors}")
    # A 304 confirms the cached robots.txt: unchanged, whatever the crawl before got.
    if latest.robots_txt_status != NOT_MODIFIED:
        if (
            latest.robots_txt_status != previous.robots_txt_status
            and previous.robots_txt_status != NOT_MODIFIED
        ):
            changes.append(f"robots.txt answered {previous.robots_txt_status} → {latest.robots_txt_status}")
        elif latest.robots_txt_status == 200 == previous.robots_txt_status and (
            latest.robots_txt_bytes != previous.robots_txt_bytes
        ):
            changes.append(
                f"robots.txt changed ({previous.robots_txt_bytes} → {latest.robots_txt_bytes} bytes)"
            )
    if latest.robots_refusals != previous.robots_refusals:
        changes.append(f"pages refused by robots.txt {previous.robots_refusals} → {latest.robots_refusals}")
    if latest.process_errors and not previous.process_errors:
        changes.append(f"the crawl itself failed ({latest.process_errors} problem(s))")
    return changes


def health_markdown(health: Sequence[SourceHealth]) -> str:
    """Per source: yield, HTTP errors and robots refusals now and in the crawl before, and what changed."""

    def now_and_before(row: SourceHealth, figure: str) -> str:
        now = getattr(row.latest, figure) if row.latest else "–"
        before = getattr(row.previous, figure) if row.previous else "–"
        return f"{now} ({before})"

    return markdown_table(
        ["source", "records (before)", "HTTP errors (before)", "robots refusals (before)", "changes"],
        [
            (
                row.source_id,
                now_and_before(row, "records"),
                now_and_before(row, "http_errors"),
                now_and_before(row, "robots_refusals"),
                "; ".join(row.changes) or "none",
            )
            for row in health
        ],
    )


def sources_fresh(health: Sequence[SourceHealth]) -> GuardResult:
    """Every source had a successful crawl within its `max_age_days`: a source whose crawls keep
    failing shows services that are no longer verified."""
    stale = [h for h in health if h.stale]

    def why(row: SourceHealth) -> str:
        if row.last_success is None:
            return f"{row.source_id} (never crawled successfully)"
        return f"{row.source_id} ({row.age_days:.1f} days, policy {row.max_age_days})"

    return GuardResult(
        passed=not stale,
        description=(
            f"stale beyond their policy: {', '.join(why(h) for h in stale)}"
            if stale
            else f"all {len(health)} sources crawled successfully within their policy"
        ),
        figures={"sources": len(health), "stale": len(stale)},
        table=markdown_table(
            ["source", "last successful crawl", "age (days)", "policy (days)", "stale"],
            [
                (
                    h.source_id,
                    h.last_success.isoformat(timespec="minutes") if h.last_success else "never",
                    h.age_days if h.age_days is not None else "–",
                    h.max_age_days,
                    "**yes**" if h.stale else "no",
                )
                for h in health
            ],
        ),
    )


# --- Self-conformance of the published API and export ---

REQUIRED_ENDPOINTS = ("/", "/services", "/services/{id}")


class Conformance(BaseModel):
    """The published directory as a validator of HSDS 3.0 sees it, through its export and its API."""

    version_id: str
    services_exported: int
    services_checked: int
    endpoints: dict[str, str] = Field(default_factory=dict)
    problems: list[str] = Field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems


def check_conformance(url: str, export_dir: Path, sample: int = 20) -> Conformance:
    """Export the current directory to `export_dir` and validate it against the HSDS 3.0 rules,
    then call the three endpoints HSDS requires on the API over the same database, validating
    `sample` of the services it serves and comparing each with the export's object: the API
    sends the document the publish stored, the export nests the tables' rows, and the two must
    agree. Every deviation is named in `problems`."""
    from fastapi.testclient import TestClient

    from servicemap.api.app import create_app
    from servicemap.api.security import SecuritySettings
    from servicemap.hsds import export_hsds
    from servicemap.hsds.validator import validate_export, validate_service

    summary = export_hsds(url, export_dir)
    problems = [f"export: {p}" for p in validate_export(export_dir)]
    exported = {s["id"]: s for s in json.loads((export_dir / "services.json").read_text(encoding="utf-8"))}
    endpoints: dict[str, str] = {}
    checked = 0
    with TestClient(create_app(url, security=SecuritySettings())) as client:
        root = client.get("/")
        endpoints["/"] = str(root.status_code)
        if root.status_code != 200 or "openapi_url" not in root.json():
            problems.append(
                f"GET /: answered {root.status_code} {root.text[:200]!r} (expected 200 with openapi_url)"
            )
        listing = client.get("/services", params={"per_page": sample})
        endpoints["/services"] = str(listing.status_code)
        contents = listing.json().get("contents", []) if listing.status_code == 200 else []
        if listing.status_code != 200:
            problems.append(
                f"GET /services: answered {listing.status_code} (expected 200 with a page of services)"
            )
        elif summary.services and not contents:
            problems.append(
                f"GET /services: an empty page although the export holds {summary.services} services"
            )
        statuses = set()
        for item in contents:
            service_id = item.get("id")
            answer = client.get(f"/services/{service_id}")
            statuses.add(answer.status_code)
            checked += 1
            if answer.status_code != 200:
                problems.append(f"GET /services/{service_id}: answered {answer.status_code} (expected 200)")
                continue
            served = answer.json()
            problems += [f"GET /services/{service_id}: {p}" for p in validate_service(served)]
            differing = _differing_fields(served, exported.get(service_id, {}))
            if differing:
                problems.append(
                    f"GET /services/{service_id}: differs from the export's object in {', '.join(differing)}"
                )
        unknown = str(uuid.UUID(int=0))
        missing = client.get(f"/services/{unknown}")
        statuses.add(missing.status_code)
        if missing.status_code != 404:
            problems.append(
                f"GET /services/{unknown}: answered {missing.status_code} (expected 404 for no such service)"
            )
        endpoints["/services/{id}"] = ", ".join(str(s) for s in sorted(statuses))
    return Conformance(
        version_id=summary.version_id,
        services_exported=summary.services,
        services_checked=checked,
        endpoints=endpoints,
        problems=problems,
    )


def _differing_fields(served: dict, exported: dict) -> list[str]:
    return sorted(k for k in served.keys() | exported.keys() if served.get(k) != exported.get(k))


def conformance_result(conformance: Conformance) -> GuardResult:
    shown = conformance.problems[:20]
    return GuardResult(
        passed=conformance.passed,
        description=(
            f"version {conformance.version_id}: {len(conformance.problems)} deviation(s) from HSDS 3.0, "
            f"first: {conformance.problems[0]}"
            if conformance.problems
            else f"version {conformance.version_id}: the export and "
            f"{', '.join(REQUIRED_ENDPOINTS)} conform to HSDS 3.0"
        ),
        figures={
            "directory version": conformance.version_id,
            "services exported": conformance.services_exported,
            "services checked through the API": conformance.services_checked,
            "deviations": len(conformance.problems),
        },
        table=markdown_table(
            ["endpoint or problem", "status"],
            [*((e, s) for e, s in conformance.endpoints.items()), *((p, "**deviation**") for p in shown)],
        ),
    )
