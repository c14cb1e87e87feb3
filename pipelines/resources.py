"""Settings of a servicemap deployment, given to every asset as one Dagster resource."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from servicemap.sources import SourcesFile, load_sources


class ServicemapSettings(dg.ConfigurableResource):
    """Where the sources are listed, where work files go, which database is published to, and
    the share of a source's records that may be rejected before the publish is blocked.

    The database URL may hold a password: it is never written into metadata or logs.
    """

    sources_path: str
    database_url: str
    work_dir: str = "var"
    max_rejection_rate: float = 0.25

    def load_sources(self) -> SourcesFile:
        return load_sources(self.sources_path)

    def work_path(self, *parts: str) -> Path:
        path = Path(self.work_dir).joinpath(*parts)
        path.mkdir(parents=True, exist_ok=True)
        return path
