"""Web pages for people who would rather look than type, under ``/ui``: a dashboard, the
agreement, decision and disclosure-search pages, and a form to record a review.

Server-rendered HTML with no JavaScript; the same tokens and roles as the API (the token is
pasted once into the sign-in form and kept in a cookie). docs/web.md describes the pages.
"""

from __future__ import annotations

from litestar import Router

from .pages import PAGE_ROUTES
from .render import exception_handlers
from .reviews import REVIEW_ROUTES
from .session import SESSION_ROUTES


def web_pages() -> Router:
    """The ``/ui`` router: every page, with errors shown as pages to browsers."""
    return Router(
        path="/ui",
        route_handlers=[*SESSION_ROUTES, *PAGE_ROUTES, *REVIEW_ROUTES],
        exception_handlers=exception_handlers(),
        tags=["web pages"],
    )


__all__ = ["web_pages"]
