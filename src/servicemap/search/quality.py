"""How well search finds what a professional means: recall@5 over a set of queries with the
ground-truth services each must show, on a published directory."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from servicemap.publish import published_membership
from servicemap.search.query import SearchFilters, search

DEMO_SEARCH_QUERIES = Path(__file__).parents[1] / "demo" / "search_queries.yaml"
TOP = 5


class SearchQueriesError(ValueError):
    """A search quality file that cannot be read as a list of queries with expectations."""


class QualityQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str
    filters: SearchFilters = Field(default_factory=SearchFilters)
    expect: list[str] = Field(min_length=1)

    def label(self) -> str:
        shown = ", ".join(f"{k}={v}" for k, v in self.filters.model_dump(exclude_defaults=True).items())
        return f"{self.query} [{shown}]" if shown else self.query


class QueryOutcome(BaseModel):
    query: str
    expected: list[str]
    found: list[str]
    top: list[str | None]
    recall: float


class SearchQuality(BaseModel):
    queries: list[QueryOutcome]

    @property
    def recall_at_5(self) -> float:
        """Expected services found in the top five, over all expected services of all queries."""
        expected = sum(len(q.expected) for q in self.queries)
        return sum(len(q.found) for q in self.queries) / expected if expected else 1.0

    def table(self) -> str:
        """The per-query markdown table the issue's note shows."""
        lines = ["| query | expected | found | recall@5 |", "|---|---|---|---|"]
        for q in self.queries:
            missing = [e for e in q.expected if e not in q.found]
            found = ", ".join(q.found) + (f" (missing {', '.join(missing)})" if missing else "")
            lines.append(f"| {q.query} | {', '.join(q.expected)} | {found} | {q.recall:.2f} |")
        lines.append(f"| **overall** | | | **{self.recall_at_5:.3f}** |")
        return "\n".join(lines)


def load_search_queries(path: Path | None = None) -> list[QualityQuery]:
    """The queries of `path` (the demo region's set by default), checked when loaded."""
    path = path or DEMO_SEARCH_QUERIES
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("queries"), list):
        raise SearchQueriesError(f"{path}: expected a mapping with a list under 'queries'")
    queries, problems = [], []
    for index, item in enumerate(data["queries"]):
        try:
            queries.append(QualityQuery.model_validate(item))
        except ValidationError as error:
            details = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
            problems.append(f"queries[{index}]: {details}")
    if problems:
        raise SearchQueriesError(f"{path}: " + " | ".join(problems))
    return queries


def truth_of_services(database_url: str, ground_truth: dict) -> dict[str, str]:
    """Published service id -> the truth service most of its member records describe
    (record id = 'source_id:key'; a tie goes to the truth's first)."""
    order: dict[str, int] = {}
    truth_of_record: dict[str, str] = {}
    for index, service in enumerate(ground_truth["services"]):
        order[service["id"]] = index
        for record in service["records"]:
            truth_of_record[f"{record['source_id']}:{record['key']}"] = service["id"]
    mapping = {}
    for service_id, record_ids in published_membership(database_url).items():
        votes = Counter(truth_of_record[r] for r in record_ids if r in truth_of_record)
        if votes:
            mapping[service_id] = min(votes, key=lambda truth_id: (-votes[truth_id], order[truth_id]))
    return mapping


def evaluate_search(database_url: str, queries: list[QualityQuery], ground_truth: dict) -> SearchQuality:
    """Run every query on the current directory and count its expected services in the top five."""
    known = {service["id"] for service in ground_truth["services"]}
    unknown = sorted({e for q in queries for e in q.expect} - known)
    if unknown:
        raise SearchQueriesError(f"expected services {unknown} are not in the ground truth")
    truth = truth_of_services(database_url, ground_truth)
    outcomes = []
    for q in queries:
        hits = search(database_url, q.query, limit=TOP, **q.filters.model_dump(exclude_defaults=True))
        top = [truth.get(hit.service_id) for hit in hits]
        found = [e for e in q.expect if e in top]
        outcomes.append(
            QueryOutcome(
                query=q.label(), expected=q.expect, found=found, top=top, recall=len(found) / len(q.expect)
            )
        )
    return SearchQuality(queries=outcomes)
