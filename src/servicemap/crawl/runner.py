"""Run one source's Scrapy spider in a subprocess and read back its items and fetch log.

A subprocess keeps Twisted's reactor out of the caller (Dagster, tests), and a crawl that
hangs can be stopped without taking the caller down."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from servicemap.crawl.fetches import FetchRecord
from servicemap.records import RawRecord
from servicemap.sources import SourcesConfigError, load_sources

STDERR_TAIL_LINES = 30


class CrawlResult(BaseModel):
    """What one crawl of one source gave: its records, every fetch, and what went wrong."""

    source_id: str
    records: list[RawRecord] = Field(default_factory=list)
    fetches: list[FetchRecord] = Field(default_factory=list)
    started_at: datetime
    finished_at: datetime
    returncode: int | None = None
    errors: list[str] = Field(default_factory=list)

    @property
    def pages_fetched(self) -> int:
        """Downloads that got an HTTP answer (errors included, unreadable pages not counted twice)."""
        return sum(1 for f in self.fetches if f.status is not None)

    def by_status(self) -> Counter[int]:
        return Counter(f.status for f in self.fetches if f.status is not None)

    def errors_by_kind(self) -> Counter[str]:
        return Counter(f.error_kind for f in self.fetches if f.error_kind is not None)

    @property
    def items(self) -> int:
        return len(self.records)

    @property
    def fetch_errors(self) -> int:
        return sum(1 for f in self.fetches if f.error_kind is not None)

    @property
    def duration_seconds(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()

    def failed_fetches(self) -> list[FetchRecord]:
        return [f for f in self.fetches if f.error_kind is not None]

    def summary_markdown(self) -> str:
        """A small table for Dagster metadata: pages, items and fetch errors by kind."""
        lines = [
            "| what | count |",
            "|---|---:|",
            f"| pages fetched | {self.pages_fetched} |",
            f"| items | {self.items} |",
        ]
        lines += [f"| error: {kind} | {count} |" for kind, count in self.errors_by_kind().most_common()]
        lines += [f"| process error | {len(self.errors)} |"] if self.errors else []
        return "\n".join(lines)


def crawl_source(sources_path: Path, source_id: str, work_dir: Path, timeout_s: float = 600) -> CrawlResult:
    """Crawl one source with its kind's spider; a broken site gives errors in the result, a wrong
    config raises `SourcesConfigError` before any request."""
    sources_path = Path(sources_path).resolve()
    try:
        source = load_sources(sources_path).get(source_id)
    except KeyError as exc:
        raise SourcesConfigError(sources_path, [str(exc.args[0])]) from None
    work_dir = Path(work_dir).resolve()
    work_dir.mkdir(parents=True, exist_ok=True)
    items_path, fetches_path = work_dir / f"{source_id}.items.jsonl", work_dir / f"{source_id}.fetches.jsonl"
    for stale in (items_path, fetches_path):
        stale.unlink(missing_ok=True)
    command = [
        sys.executable, "-m", "scrapy", "crawl", source.kind,
        "-a", f"sources={sources_path}", "-a", f"source={source_id}",
        "-O", f"{items_path}:jsonlines",
        "-s", f"SERVICEMAP_FETCH_LOG={fetches_path}",
        "-s", "HTTPCACHE_ENABLED=True", "-s", f"HTTPCACHE_DIR={work_dir / 'httpcache' / source_id}",
        "-s", f"LOG_FILE={work_dir / f'{source_id}.log'}",
    ]  # fmt: skip
    env = {**os.environ, "SCRAPY_SETTINGS_MODULE": "servicemap_crawlers.settings"}
    started = datetime.now(UTC)
    errors: list[str] = []
    returncode: int | None = None
    try:
        process = subprocess.run(
            command, cwd=work_dir, env=env, capture_output=True, text=True, timeout=timeout_s, check=False
        )
        returncode = process.returncode
        if returncode != 0:
            tail = "\n".join(process.stderr.strip().splitlines()[-STDERR_TAIL_LINES:])
            errors.append(f"crawl of {source_id!r} exited with code {returncode}: {tail}")
    except subprocess.TimeoutExpired:
        errors.append(f"crawl of {source_id!r} stopped after the {timeout_s:g}s timeout")
    records, item_errors = read_jsonl(items_path, RawRecord)
    fetches, fetch_errors = read_jsonl(fetches_path, FetchRecord)
    return CrawlResult(
        source_id=source_id,
        records=records,
        fetches=fetches,
        started_at=started,
        finished_at=datetime.now(UTC),
        returncode=returncode,
        errors=errors + item_errors + fetch_errors,
    )


def read_jsonl(path: Path, model: type[BaseModel]) -> tuple[list, list[str]]:
    """Every line of a JSONL file as `model`; a line that does not fit is reported, not dropped silently."""
    if not path.exists():
        return [], []
    rows, errors = [], []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(model.model_validate(json.loads(line)))
        except json.JSONDecodeError as exc:
            errors.append(f"{path.name} line {number} is not JSON: {exc}")
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            errors.append(f"{path.name} line {number} is not a {model.__name__}: {problems}")
    return rows, errors
