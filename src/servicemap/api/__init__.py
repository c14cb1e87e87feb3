"""The read-only HSDS 3.0 HTTP API over the published directory."""

from servicemap.api.app import create_app

__all__ = ["create_app"]
