"""Settings of a servicemap deployment, given to every asset as one Dagster resource."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from pydantic import model_validator

from servicemap.sources import SourcesFile, load_sources


class ServicemapSettings(dg.ConfigurableResource):
    """Where the sources are listed, where work files go, which database is published to, and
    the limits of the checks that block a publish: the share of a source's records that may be
    rejected, the share of its (or the directory's) published services that may disappear in
    one run, and the share of services that must have a phone or an address.

    `override_checks` publishes although blocking checks fail; it needs an `override_reason`,
    and both are recorded in the version row. The database URL may hold a password: it is
    never written into metadata or logs.
    """

    sources_path: str
    database_url: str
    work_dir: str = "var"
    max_rejection_rate: float = 0.25
    max_service_drop: float = 0.3
    min_reachable_share: float = 0.8
    override_checks: bool = False
    override_reason: str = ""

    @model_validator(mode="after")
    def _override_has_reason(self) -> ServicemapSettings:
        if self.override_checks and not self.override_reason.strip():
            raise ValueError(
                "override_checks is set without an override_reason: say why the checks are overridden"
            )
        for name in ("max_rejection_rate", "max_service_drop", "min_reachable_share"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name}={value}: expected a share between 0 and 1")
        return self

    def load_sources(self) -> SourcesFile:
        return load_sources(self.sources_path)

    def work_path(self, *parts: str) -> Path:
        path = Path(self.work_dir).joinpath(*parts)
        path.mkdir(parents=True, exist_ok=True)
        return path
