"""Bearer tokens and roles. Every route but ``/health`` needs a valid token; each route
names the roles that may call it (the matrix is in docs/api.md and tested)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio.to_thread
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from ..access import Tokens
from ..schemas.access import Principal, Role

PUBLIC_PATHS = {"/health"}
# Calendar programs subscribe to a URL and send no headers: this feed alone also takes the
# token as ``?token=`` (docs/api.md says to issue a reviewer token for the calendar alone).
QUERY_TOKEN_PATHS = {"/v1/expiring.ics"}

# Who may do what; docs/api.md shows the same matrix and a test walks every route.
READERS: tuple[Role, ...] = ("legal", "reviewer", "auditor", "admin")
EDITORS: tuple[Role, ...] = ("legal", "admin")
REVIEWERS: tuple[Role, ...] = ("reviewer", "legal", "admin")
CHECKERS: tuple[Role, ...] = ("system", "admin")
LOG_READERS: tuple[Role, ...] = ("legal", "reviewer", "auditor", "admin", "system")
AUDITORS: tuple[Role, ...] = ("auditor", "admin")
ANYONE: tuple[Role, ...] = ("legal", "system", "reviewer", "auditor", "admin")


class TokenAuthentication(AbstractAuthenticationMiddleware):
    """``Authorization: Bearer <token>`` → the :class:`Principal` it speaks for."""

    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        header = connection.headers.get("authorization", "")
        if not header and connection.scope["path"] in QUERY_TOKEN_PATHS:
            header = f"Bearer {connection.query_params.get('token', '')}"
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthorizedException(
                "a bearer token is required", headers={"WWW-Authenticate": "Bearer"}
            )
        tokens: Tokens = connection.app.state.tokens
        token = token.strip()
        # A token seen in the last few seconds is known without the database; otherwise a
        # worker thread looks it up, so that the event loop never waits for the database.
        principal = tokens.remembered(token) or await anyio.to_thread.run_sync(
            tokens.authenticate, token
        )
        if principal is None:
            raise NotAuthorizedException(
                "the token is unknown, expired or revoked",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        return AuthenticationResult(user=principal, auth=principal.token_id)


def allow(*roles: Role) -> Callable[[ASGIConnection, BaseRouteHandler], Awaitable[None]]:
    """A guard that lets only ``roles`` through (403 otherwise). Async: litestar runs a
    sync guard in a worker thread."""
    allowed = frozenset(roles)

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        principal = connection.user
        if not isinstance(principal, Principal) or principal.role not in allowed:
            role = principal.role if isinstance(principal, Principal) else "anonymous"
            raise PermissionDeniedException(f"the {role} role may not do this")

    guard.roles = allowed  # type: ignore[attr-defined]  # read by the role-matrix test
    return guard


def speaks_for(principal: Principal, source_system: str | None) -> None:
    """A system token speaks only for its own data system."""
    if principal.role == "system" and source_system != principal.system:
        raise PermissionDeniedException(
            f"this token speaks for system '{principal.system}', not '{source_system}'"
        )
