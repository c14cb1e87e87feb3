"""Pure extraction: a fetched body and its URL in, the services found as `RawFields` out."""

from servicemap.extract.base import ExtractionError

__all__ = ["ExtractionError"]
