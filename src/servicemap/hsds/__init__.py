"""Open Referral HSDS 3.0 export of the published directory."""

from servicemap.hsds.export import ExportSummary, export_hsds

__all__ = ["ExportSummary", "export_hsds"]
