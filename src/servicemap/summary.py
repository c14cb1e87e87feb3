"""What a run did, in the numbers an operator asks for first."""

from __future__ import annotations

from collections import Counter

from pydantic import BaseModel, Field

from servicemap.conservation import Conservation, check_conservation
from servicemap.crawl import CrawlResult
from servicemap.records import ClassifiedService, NormalizedRecord, StageResult


class SourceSummary(BaseModel):
    source_id: str
    crawled: int = 0
    kept: int = 0
    rejected: int = 0
    pages_fetched: int = 0
    fetch_errors: int = 0
    problem: str | None = None


class RunSummary(BaseModel):
    sources: list[SourceSummary] = Field(default_factory=list)
    services: int = 0
    rejected_by_reason: dict[str, int] = Field(default_factory=dict)
    services_by_domain: dict[str, int] = Field(default_factory=dict)
    version: str | None = None
    conservation: Conservation | None = None

    @property
    def crawled(self) -> int:
        return sum(s.crawled for s in self.sources)

    @property
    def rejected(self) -> int:
        return sum(s.rejected for s in self.sources)


def summarize_source(
    source_id: str, crawl: CrawlResult | None, validated: StageResult[NormalizedRecord] | None
) -> SourceSummary:
    """One source's line: what its crawl fetched and yielded, what survived validation, and
    in words what went wrong."""
    if crawl is None:
        return SourceSummary(source_id=source_id, problem="the crawl step failed: see the run in Dagster")
    problems = list(crawl.errors)
    if not crawl.records:
        kinds = ", ".join(f"{kind}: {n}" for kind, n in crawl.errors_by_kind().most_common())
        problems.append(f"no records ({kinds})" if kinds else "no records")
    if validated is None:
        problems.append("not normalised or validated: see the run's failed step")
    return SourceSummary(
        source_id=source_id,
        crawled=len(crawl.records),
        kept=len(validated.kept) if validated else 0,
        rejected=len(validated.rejected) if validated else 0,
        pages_fetched=crawl.pages_fetched,
        fetch_errors=crawl.fetch_errors,
        problem="; ".join(problems) or None,
    )


def summarize_run(
    crawls: dict[str, CrawlResult | None],
    validated: dict[str, StageResult[NormalizedRecord] | None],
    services: list[ClassifiedService],
    version_id: str | None,
) -> RunSummary:
    """The run in numbers, with the conservation equation over every crawled record."""
    sources = [summarize_source(sid, crawls[sid], validated.get(sid)) for sid in sorted(crawls)]
    rejected = [r for result in validated.values() if result for r in result.rejected]
    crawled_ids = [r.record_id for crawl in crawls.values() if crawl for r in crawl.records]
    domains = Counter(term for s in services for term in s.terms("life_domain"))
    return RunSummary(
        sources=sources,
        services=len(services),
        rejected_by_reason=dict(Counter(r.reason for r in rejected).most_common()),
        services_by_domain=dict(domains.most_common()),
        version=version_id,
        conservation=check_conservation(crawled_ids, services, rejected),
    )
