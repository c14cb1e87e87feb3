"""`sources.yaml`: every source the crawl visits, checked completely before any request."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import yaml
from lxml import etree
from parsel.csstranslator import HTMLTranslator
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from servicemap.records import RawFields

SourceKind = Literal["hsds_api", "samenwerkende_catalogi", "schema_org", "html"]
SELECTABLE_FIELDS = frozenset(RawFields.model_fields) - {"extra"}
_SOURCE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")


class SourcesConfigError(ValueError):
    """`sources.yaml` has one or more mistakes; the message lists every one."""

    def __init__(self, path: Path | str, problems: list[str]):
        self.problems = problems
        listing = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{path}: {len(problems)} problem(s):\n{listing}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LinkRules(_Strict):
    """Which links a spider follows on its own site: regexes over the URL."""

    allow: list[str] = Field(default_factory=list)
    deny: list[str] = Field(default_factory=list)

    @field_validator("allow", "deny")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{pattern!r} is not a regular expression ({exc})") from None
        return patterns


class SourceConfig(_Strict):
    id: str
    organization: str
    municipality: str | None = None
    region: str | None = None
    kind: SourceKind
    start_urls: list[str] = Field(min_length=1)
    allowed_domains: list[str] = Field(default_factory=list)
    max_pages: int = Field(default=500, ge=1, le=100_000)
    max_depth: int = Field(default=5, ge=0, le=50)
    follow: LinkRules = Field(default_factory=LinkRules)
    service_pages: str | None = None
    selectors: dict[str, str] = Field(default_factory=dict)
    trust: float = Field(default=0.5, ge=0.0, le=1.0)
    enabled: bool = True
    # Days after its last successful crawl that a source counts as stale: two missed weekly re-crawls.
    max_age_days: int = Field(default=14, ge=1, le=366)

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _SOURCE_ID.match(value):
            raise ValueError(f"{value!r} is not a source id (lowercase letters, digits and '-')")
        return value

    @field_validator("start_urls")
    @classmethod
    def _http_urls(cls, urls: list[str]) -> list[str]:
        for index, url in enumerate(urls):
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"[{index}] {url!r} is not an http(s) URL")
        return urls

    @field_validator("service_pages")
    @classmethod
    def _service_pages_compiles(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{pattern!r} is not a regular expression ({exc})") from None
        return pattern

    @field_validator("selectors")
    @classmethod
    def _selectors_parse(cls, selectors: dict[str, str]) -> dict[str, str]:
        for field, selector in selectors.items():
            if field not in SELECTABLE_FIELDS:
                raise ValueError(f"{field!r} is not a raw-record field (one of {sorted(SELECTABLE_FIELDS)})")
            check_selector(selector, where=field)
        return selectors

    @model_validator(mode="after")
    def _selectors_only_for_html(self) -> SourceConfig:
        if self.kind == "html" and "service_name" not in self.selectors:
            raise ValueError("an html source needs selectors, at least 'service_name'")
        if self.kind != "html" and self.selectors:
            raise ValueError(f"selectors are only read for kind 'html', not {self.kind!r}")
        return self

    @property
    def domains(self) -> list[str]:
        """The hosts this source may fetch from: the configured ones or its start URLs' hosts."""
        return self.allowed_domains or sorted({urlsplit(u).hostname for u in self.start_urls})


def check_selector(selector: str, where: str) -> None:
    """Refuse a selector that cannot compile: 'xpath:' prefix for XPath, CSS otherwise."""
    try:
        if selector.startswith("xpath:"):
            etree.XPath(selector.removeprefix("xpath:"))
        else:
            HTMLTranslator().css_to_xpath(selector)
    except Exception as exc:  # cssselect and lxml raise several unrelated types
        raise ValueError(f"{where}: {selector!r} is not a valid selector ({exc})") from None


class CrawlSettings(_Strict):
    """Politeness defaults that apply to every source."""

    user_agent: str = "servicemap/0.1 (+https://github.com/servicemap/servicemap)"
    concurrency_per_domain: int = Field(default=2, ge=1, le=8)
    download_delay: float = Field(default=0.5, ge=0.0)
    autothrottle: bool = True
    obey_robots_txt: bool = True
    timeout_seconds: float = Field(default=20.0, gt=0)
    retry_times: int = Field(default=2, ge=0, le=10)
    retry_backoff_seconds: float = Field(default=1.0, ge=0.0, le=300.0)
    max_response_bytes: int = Field(default=10_000_000, ge=1024)


class SourcesFile(_Strict):
    crawl: CrawlSettings = Field(default_factory=CrawlSettings)
    sources: list[SourceConfig]

    @model_validator(mode="after")
    def _unique_ids(self) -> SourcesFile:
        first_entry: dict[str, int] = {}
        for number, source in enumerate(self.sources, start=1):
            if source.id in first_entry:
                raise ValueError(
                    f"duplicate source id {source.id!r} (entries {first_entry[source.id]} and {number})"
                )
            first_entry[source.id] = number
        return self

    def get(self, source_id: str) -> SourceConfig:
        for source in self.sources:
            if source.id == source_id:
                return source
        raise KeyError(f"no source {source_id!r} in sources.yaml (known: {[s.id for s in self.sources]})")

    @property
    def enabled(self) -> list[SourceConfig]:
        return [s for s in self.sources if s.enabled]


def load_sources(path: Path | str) -> SourcesFile:
    """Read and check `sources.yaml`; raise `SourcesConfigError` naming every bad source and field."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SourcesConfigError(path, [f"cannot read the file: {exc}"]) from None
    return parse_sources(data, path)


def parse_sources(data: object, path: Path | str = "sources.yaml") -> SourcesFile:
    if not isinstance(data, dict):
        raise SourcesConfigError(path, ["expected a mapping with a 'sources' list"])
    try:
        return SourcesFile.model_validate(data)
    except ValidationError as exc:
        raise SourcesConfigError(path, [_describe(error, data) for error in exc.errors()]) from None


def _describe(error: dict, data: dict) -> str:
    """'source 'x': start_urls: [0] 'htp://x' is not an http(s) URL' from a pydantic error."""
    loc = list(error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown field"
    elif error["type"] == "literal_error":
        message = f"{error.get('input')!r} is not one of {error['ctx']['expected']}"
    if len(loc) >= 2 and loc[0] == "sources" and isinstance(loc[1], int):
        entries = data.get("sources") or []
        entry = entries[loc[1]] if loc[1] < len(entries) else None
        name = entry.get("id") if isinstance(entry, dict) and entry.get("id") else f"#{loc[1] + 1}"
        field = ".".join(str(p) for p in loc[2:])
        return f"source {name!r}: {field}: {message}" if field else f"source {name!r}: {message}"
    return f"{'.'.join(str(p) for p in loc) or 'sources'}: {message}"
