"""Bearer tokens and roles. Every route but ``/health`` needs a valid token; each route
names the roles that may call it (the matrix is in docs/api.md and tested)."""

from __future__ import annotations

import collections
import math
import re
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio.to_thread
from litestar.connection import ASGIConnection
from litestar.exceptions import (
    NotAuthorizedException,
    PermissionDeniedException,
    TooManyRequestsException,
)
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from ..access import Tokens
from ..schemas.access import Principal, Role

# The web pages' sign-in form and style sheet are public too (registry/app/web).
PUBLIC_PATHS = {"/health", "/ui/login", "/ui/style.css"}
# Calendar programs subscribe to a URL and send no headers: this feed alone also takes the
# token as ``?token=`` (docs/api.md says to issue a reviewer token for the calendar alone).
QUERY_TOKEN_PATHS = {"/v1/expiring.ics"}
# Web pages (under /ui) also take the token from the cookie set when signing in.
UI_COOKIE = "registry_ui"

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
        from_url = not header and connection.scope["path"] in QUERY_TOKEN_PATHS
        if from_url:
            header = f"Bearer {connection.query_params.get('token', '')}"
        if not header and _is_ui(connection.scope["path"]):
            header = f"Bearer {connection.cookies.get(UI_COOKIE, '')}"
        token = bearer(header)
        if token is None:
            raise NotAuthorizedException(
                "a bearer token is required", headers={"WWW-Authenticate": "Bearer"}
            )
        tokens: Tokens = connection.app.state.tokens
        failures: FailedAttempts = connection.app.state.failed_auth
        client = connection.client.host if connection.client else "unknown"
        # A token seen in the last few seconds is known without the database; otherwise a
        # worker thread looks it up, so that the event loop never waits for the database.
        principal = tokens.remembered(token)
        if principal is None:
            wait = failures.blocked_for(client)
            if wait:  # too many wrong tokens from this address: no more guesses for now
                raise TooManyRequestsException(
                    "too many requests with a wrong token from this address; wait and retry",
                    headers={"Retry-After": str(wait)},
                )
            principal = await anyio.to_thread.run_sync(
                tokens.authenticate, token, limiter=connection.app.state.auth_threads
            )
        if principal is None:
            failures.record(client)
            raise NotAuthorizedException(
                "the token is unknown, expired or revoked",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        if from_url and principal.role != "reviewer":
            # A URL ends up in logs and calendar settings: only a reviewer token, which
            # can change nothing but reviews, may travel in one.
            raise NotAuthorizedException(
                "only a reviewer token may be given in the URL; issue one for the calendar"
            )
        return AuthenticationResult(user=principal, auth=principal.token_id)


class FailedAttempts:
    """Wrong tokens per client address in a sliding window, in this worker. Past ``limit``
    in ``window`` seconds an address gets 429 until the oldest failure leaves the window,
    so that tokens cannot be guessed at speed (they cannot be guessed at all: 256 random
    bits; this keeps a scanner from loading the database with lookups)."""

    def __init__(self, limit: int = 30, window: float = 60.0) -> None:
        self.limit, self.window = limit, window
        self._seen: dict[str, collections.deque[float]] = {}
        self._lock = threading.Lock()

    def record(self, client: str) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._seen) > 100_000:  # bounded: forget everyone rather than grow
                self._seen.clear()
            times = self._seen.setdefault(client, collections.deque())
            times.append(now)
            while times and now - times[0] > self.window:
                times.popleft()

    def blocked_for(self, client: str) -> int:
        """Seconds until ``client`` may try again (0: now)."""
        now = time.monotonic()
        with self._lock:
            times = self._seen.get(client)
            if not times:
                return 0
            while times and now - times[0] > self.window:
                times.popleft()
            if len(times) < self.limit:
                return 0
            return max(1, math.ceil(self.window - (now - times[0])))


def public_path_patterns() -> list[str]:
    """The paths that need no token, as the anchored patterns litestar wants: it searches
    each pattern anywhere in the path, so "/health" alone would also let through
    "/v1/agreements/health-data-dua"."""
    return [f"^{re.escape(path)}$" for path in sorted(PUBLIC_PATHS)]


def _is_ui(path: str) -> bool:
    return path == "/ui" or path.startswith("/ui/")


def allow(*roles: Role) -> Callable[[ASGIConnection, BaseRouteHandler], Awaitable[None]]:
    """A guard that lets only ``roles`` through (403 otherwise). Async: litestar runs a
    sync guard in a worker thread."""
    allowed = frozenset(roles)

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        principal = connection.scope.get("user")
        if not isinstance(principal, Principal):  # never authenticated: not a server error
            raise NotAuthorizedException(
                "a bearer token is required", headers={"WWW-Authenticate": "Bearer"}
            )
        if principal.role not in allowed:
            raise PermissionDeniedException(f"the {principal.role} role may not do this")

    guard.roles = allowed  # type: ignore[attr-defined]  # read by the role-matrix test
    return guard


def bearer(header: str) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header; None for anything else."""
    scheme, _, token = header.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def may_speak_for(principal: Principal, source_system: str | None) -> bool:
    """A system token speaks only for its own data system; other roles for any."""
    return principal.role != "system" or source_system == principal.system


def speaks_for(principal: Principal, source_system: str | None) -> None:
    """Refuse (403) a system token that asks for another data system."""
    if not may_speak_for(principal, source_system):
        raise PermissionDeniedException(
            f"this token speaks for system '{principal.system}', not '{source_system}'"
        )
