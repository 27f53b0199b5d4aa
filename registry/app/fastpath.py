"""``POST /v1/checks`` without the framework's per-request machinery, when nothing about
the request needs it.

Measured under granian on two cores (docs/performance.md): an ASGI function that reads
a check body, decodes it and answers a constant costs about 170 µs of CPU a request; the
same in a litestar route costs about 430 µs. A data system checks before every export,
so this one route is where that difference is paid, and it decides how many checks a
worker can pass to the writer.

:class:`RegistryApp` is the litestar application with one addition: a request that is
plainly an ordinary check (``POST /v1/checks``, a token this worker validated in the
last few seconds whose role may check and whose system is the one the body names, at
most one ``Authorization`` and one valid ``Idempotency-Key`` header, a valid ``Host``,
a body of at most :data:`~registry.writer.LARGE_BODY` bytes and within the configured
limit) goes straight to the writer and its decision is answered with the same bytes and
headers the route would send. Every other request, and every request that fails one of
those tests before anything is sent to the writer, is handed to litestar unchanged, with
the body read so far replayed: the route then answers it (401, 403, 400, 413...) exactly
as before. An error from the writer is answered by the same exception handlers as in the
route.

Only tokens the authentication middleware validated are taken (its cache), but what the
middleware and the route check after that (the role, the system) is checked again here:
a rule added there must be added here too. ``tests/api/test_fastpath.py`` holds the two
ways to the same answers, and the check tests run both ways.
"""

from __future__ import annotations

import collections
import re
from collections.abc import Iterable
from typing import Any

from litestar import Litestar, Request
from litestar._asgi.utils import is_valid_host
from litestar.serialization import encode_json
from litestar.types import (
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    Receive,
    ReceiveMessage,
    Scope,
    Send,
)

from ..checking import source_system_of
from ..schemas.access import Principal
from ..writer import LARGE_BODY
from .auth import CHECKERS, bearer, may_speak_for
from .errors import handle
from .routes.checks import IDEMPOTENCY_KEY, PATH, scoped

_JSON = [(b"content-type", b"application/json")]
_DIGITS = 12  # a longer Content-Length is over any limit (and int() refuses 4,300 digits)
_KEY = re.compile(IDEMPOTENCY_KEY)


class RegistryApp(Litestar):
    """The registry's litestar application, with ordinary checks taken the short way."""

    max_fast_body: int = LARGE_BODY

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or _routed_path(scope) != PATH or scope["method"] != "POST":
            await super().__call__(scope, receive, send)
            return
        admitted = self._admitted(scope)
        if admitted is None:
            await super().__call__(scope, receive, send)
            return
        principal, key = admitted
        messages: list[ReceiveMessage] = []
        try:
            body = await self._body(receive, messages)
        except Exception as exc:  # the server's receive failed: litestar answers it
            await super().__call__(scope, _replaying(messages, _raising(exc)), send)
            return
        if body is None or not self._speaks_for(principal, body):
            await super().__call__(scope, _replaying(messages, receive), send)
            return
        await self._check(scope, receive, send, body, scoped(principal, key))

    def _admitted(self, scope: Scope) -> tuple[Principal, str | None] | None:
        """The caller and idempotency key of a request the short way may take; None to
        leave it to the route."""
        tokens = getattr(self.state, "tokens", None)
        if tokens is None or getattr(self.state, "checks", None) is None:
            return None  # not started
        authorization = key = host = None
        for name, value in scope["headers"]:
            if name == b"host":
                if host is None:  # litestar looks at the first one
                    host = value
                    if not is_valid_host(value):
                        return None
            elif name == b"authorization":
                if authorization is not None:
                    return None
                authorization = value.decode("latin-1")
            elif name == b"idempotency-key":
                if key is not None:
                    return None
                key = value.decode("latin-1")
            elif name == b"content-length" and (
                not value.isdigit() or len(value) > _DIGITS or int(value) > self._limit()
            ):
                return None
        if authorization is None or (key is not None and not _KEY.fullmatch(key)):
            return None
        token = bearer(authorization)
        principal = tokens.remembered(token) if token is not None else None
        if principal is None or principal.role not in CHECKERS:
            return None
        return principal, key

    def _limit(self) -> int:
        configured = self.request_max_body_size
        if isinstance(configured, int) and configured > 0:
            return min(self.max_fast_body, configured)
        return self.max_fast_body

    async def _body(self, receive: Receive, messages: list[ReceiveMessage]) -> bytes | None:
        """The whole body, or None (what was read is in ``messages``) when it is over the
        limit or the client went away."""
        limit, size = self._limit(), 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                return None
            size += len(message.get("body", b""))
            if size > limit:
                return None
            if not message.get("more_body", False):
                break
        return b"".join(m.get("body", b"") for m in messages)  # type: ignore[misc]

    @staticmethod
    def _speaks_for(principal: Principal, body: bytes) -> bool:
        """Whether the body names a system the token may speak for; False for a body the
        route should refuse (it says why)."""
        if principal.role != "system":
            return True  # any system: the body is decoded by the writer alone
        try:
            return may_speak_for(principal, source_system_of(body))
        except Exception:
            return False

    async def _check(
        self, scope: Scope, receive: Receive, send: Send, body: bytes, key: Any
    ) -> None:
        metrics = self.state.metrics
        try:
            with metrics.timed("request"):
                decision = await self.state.checks(body, key)
        except Exception as exc:
            scope["app"] = scope["litestar_app"] = self  # as litestar's own entry sets them
            scope.setdefault("state", {})
            request: Request[Any, Any, Any] = Request(scope, receive, send)
            await handle(request, exc).to_asgi_response(None, request)(scope, receive, send)
            return
        metrics.decided(decision)
        answer = encode_json(decision)
        headers = [*_JSON, (b"content-length", str(len(answer)).encode())]
        await send(HTTPResponseStartEvent(type="http.response.start", status=200, headers=headers))
        await send(HTTPResponseBodyEvent(type="http.response.body", body=answer, more_body=False))


def _routed_path(scope: Scope) -> str:
    """The path litestar routes: without the ``root_path`` it was mounted under."""
    path: str = scope["path"]
    root_path = scope.get("root_path", "")
    return path.split(root_path, maxsplit=1)[-1] if root_path else path


def _raising(exc: Exception) -> Receive:
    """``receive`` that raises ``exc`` again, as the server's did."""

    async def receive() -> ReceiveMessage:
        raise exc

    return receive


def _replaying(messages: Iterable[ReceiveMessage], receive: Receive) -> Receive:
    """``receive`` that first gives back ``messages``, already read."""
    pending = collections.deque(messages)

    async def replay() -> ReceiveMessage:
        if pending:
            return pending.popleft()
        return await receive()

    return replay
