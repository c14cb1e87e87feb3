"""The operators' review queue: 'meld een fout' reports that wait for someone to check them."""

import dagster as dg

from pipelines.resources import ServicemapSettings
from servicemap.web.reports import list_reports, review_queue_markdown


@dg.asset(group_name="review")
def problem_reports(settings: ServicemapSettings) -> dg.MaterializeResult:
    """The open reports, newest first, as a table in the metadata: what an operator checks
    against the source before anything in the directory changes."""
    reports = list_reports(settings.database_url)
    newest = max((r.received_at for r in reports), default=None)
    return dg.MaterializeResult(
        metadata={
            "open reports": len(reports),
            "services reported": len({r.service_id for r in reports}),
            "newest": newest.isoformat(timespec="seconds") if newest else "none",
            "reports": dg.MetadataValue.md(review_queue_markdown(reports)),
        }
    )
