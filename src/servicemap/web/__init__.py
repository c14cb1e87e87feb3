"""The web page for professionals: server-rendered search, service pages and referral sheets."""

from servicemap.web.pages import router

__all__ = ["router"]
