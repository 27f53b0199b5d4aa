"""Signing in and out of the web pages, and their style sheet.

Signing in takes an API token in a form (never in a URL) and keeps it in a cookie that
scripts cannot read (``HttpOnly``), that no other site's page sends (``SameSite=Strict``),
scoped to ``/ui``, and ``Secure`` when the page came over HTTPS. The cookie lasts until the
browser closes; revoking the token ends the session within the token cache time.
"""

from __future__ import annotations

import functools
import hmac
import importlib.resources
import secrets
from typing import Annotated, Any

from litestar import MediaType, Request, Response, get, post
from litestar.datastructures import Cookie, State
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromQuery
from litestar.response import Redirect

from ...access import Tokens
from ..auth import READERS, UI_COOKIE
from ..errors import answers
from .render import CSRF_FIELD, FOLLOWED, check_form, page

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
LOGIN_COOKIE = "registry_ui_login"  # the sign-in form's own token (double submit)

SIGN_IN_PROBLEMS = {
    "token": "That token was not accepted: it is unknown, expired or revoked.",
    "form": "The sign-in form had expired. Paste the token again.",
    "role": "A system token has no web pages: sign in with a person's token.",
    "session": "Sign in to see that page (or your session has ended).",
}


def _cookie(request: Request[Any, Any, Any], key: str, value: str, **extra: Any) -> Cookie:
    return Cookie(
        key=key,
        value=value,
        path="/ui",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        **extra,
    )


@get("/login", sync_to_thread=False, media_type=MediaType.HTML)
def login_form(
    request: Request[Any, Any, Any], failed: FromQuery[str | None] = None
) -> Response[str]:
    """The sign-in form: paste an API token of a person's role."""
    form_token = secrets.token_urlsafe(24)
    answer = page(
        request,
        "login.html",
        problem=SIGN_IN_PROBLEMS.get(failed or ""),
        login_token=form_token,
    )
    answer.set_cookie(_cookie(request, LOGIN_COOKIE, form_token, max_age=3600))
    return answer


@post("/login", sync_to_thread=True, status_code=303, responses=FOLLOWED)
def login(request: Request[Any, Any, State], state: State, data: Form) -> Response[Any]:
    """Check the token; on success keep it in the session cookie and show the dashboard,
    otherwise show the form again with what was wrong."""
    expected = request.cookies.get(LOGIN_COOKIE, "")
    given = data.get(CSRF_FIELD, "")
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        return Redirect("/ui/login?failed=form", status_code=303)
    token = data.get("token", "").strip()
    tokens: Tokens = state.tokens
    principal = tokens.authenticate(token) if token else None
    if principal is None:
        return Redirect("/ui/login?failed=token", status_code=303)
    if principal.role not in READERS:
        return Redirect("/ui/login?failed=role", status_code=303)
    answer: Response[Any] = Redirect("/ui", status_code=303)
    answer.set_cookie(_cookie(request, UI_COOKIE, token))
    answer.delete_cookie(LOGIN_COOKIE, path="/ui")
    return answer


@post("/logout", sync_to_thread=False, status_code=303, responses={**answers(403), **FOLLOWED})
def logout(request: Request[Any, Any, Any], data: Form) -> Response[Any]:
    """Forget the session cookie (the token itself stays valid: revoke it to end it)."""
    check_form(request, data)
    answer: Response[Any] = Redirect("/ui/login", status_code=303)
    answer.delete_cookie(UI_COOKIE, path="/ui")
    return answer


@functools.cache
def _style() -> str:
    return (importlib.resources.files(__package__) / "static" / "style.css").read_text("utf-8")


@get("/style.css", sync_to_thread=False, media_type="text/css")
def style() -> Response[str]:
    """The pages' one style sheet."""
    return Response(
        _style(), media_type="text/css", headers={"Cache-Control": "public, max-age=3600"}
    )


SESSION_ROUTES = [login_form, login, logout, style]
