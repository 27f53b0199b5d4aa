"""How a web page is made: Jinja templates (autoescaped), the signed-in caller, the form
token that guards every form against cross-site posts, and error pages.

Pages are rendered with a Jinja environment of this package's own (not the application's
template config), so that the web pages stay one package the application mounts.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Callable, Mapping
from typing import Any

import jinja2
from litestar import MediaType, Request, Response
from litestar.exceptions import PermissionDeniedException
from litestar.openapi.datastructures import ResponseSpec
from litestar.response import Redirect

from ...schemas.access import Principal
from ..auth import AUDITORS, READERS, REVIEWERS, UI_COOKIE
from ..errors import HANDLERS
from ..views import ErrorBody

# Pages carry personal data (disclosures) and decisions: never cached, never framed.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'self'; form-action 'self'; frame-ancestors 'none'",
    "Referrer-Policy": "same-origin",
}
CSRF_FIELD = "csrf_token"
# For the OpenAPI description: a route that answers 303 leads to a page, which clients that
# follow redirects (as browsers and the test client do) receive instead.
FOLLOWED = {
    200: ResponseSpec(
        data_container=str,
        media_type=MediaType.HTML,
        description="The page the 303 leads to, for clients that follow redirects.",
        generate_examples=False,
    )
}


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("registry.app.web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["words"] = lambda value: str(value).replace("_", " ").replace("-", " ")
    return env


def csrf_token(session_token: str) -> str:
    """The form token of a signed-in session: derived from the session's API token, so a
    page from another site cannot know it, and it needs no storage."""
    return hmac.new(session_token.encode(), b"registry-ui-form", hashlib.sha256).hexdigest()


def check_form(request: Request[Any, Any, Any], form: Mapping[str, str]) -> None:
    """403 unless a form posted with the session cookie carries the session's form token.
    A request with an ``Authorization`` header (a script, not a browser) needs none: a
    browser never adds that header on its own."""
    if request.headers.get("authorization"):
        return
    session = request.cookies.get(UI_COOKIE, "")
    given = form.get(CSRF_FIELD, "")
    if not session or not hmac.compare_digest(given.encode(), csrf_token(session).encode()):
        raise PermissionDeniedException(
            "this form has expired or came from another site; reload the page and try again"
        )


def page(
    request: Request[Any, Any, Any], template: str, *, status: int = 200, **context: Any
) -> Response[str]:
    """The template rendered for the caller (who, what they may do, the form token)."""
    principal = request.user if isinstance(request.scope.get("user"), Principal) else None
    session = request.cookies.get(UI_COOKIE, "")
    html = (
        environment()
        .get_template(template)
        .render(
            principal=principal,
            may_review=principal is not None and principal.role in REVIEWERS,
            may_audit=principal is not None and principal.role in AUDITORS,
            may_read=principal is not None and principal.role in READERS,
            csrf_field=CSRF_FIELD,
            csrf=csrf_token(session) if session else "",
            **context,
        )
    )
    return Response(html, status_code=status, media_type=MediaType.HTML, headers=PAGE_HEADERS)


def wants_html(request: Request[Any, Any, Any]) -> bool:
    """A browser asks for HTML; scripts (and the role-matrix test) get the API's JSON."""
    return "text/html" in request.headers.get("accept", "")


def _html_or(
    json_answer: Callable[[Request[Any, Any, Any], Any], Response[ErrorBody]],
) -> Callable[[Request[Any, Any, Any], Any], Response[Any]]:
    """An exception handler that answers a browser with a page (401: the sign-in form) and
    anyone else with the API's JSON error."""

    def handler(request: Request[Any, Any, Any], exc: Any) -> Response[Any]:
        answer = json_answer(request, exc)
        if not wants_html(request):
            return answer
        if answer.status_code == 401:
            redirect: Response[Any] = Redirect("/ui/login?failed=session", status_code=303)
            if request.cookies.get(UI_COOKIE):
                redirect.delete_cookie(UI_COOKIE, path="/ui")
            return redirect
        body = answer.content
        detail = body.detail if isinstance(body, ErrorBody) else "something went wrong"
        status = answer.status_code or 500
        return page(request, "error.html", status=status, code=status, detail=detail)

    return handler


def exception_handlers() -> dict[Any, Any]:
    """The API's error handlers, each answering browsers with an HTML page."""
    return {key: _html_or(handler) for key, handler in HANDLERS.items()}
