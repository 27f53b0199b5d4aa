"""The registry's errors as JSON answers, mapped once for every route.

Bad input is a 4xx naming the field; a database that does not answer is a 503 (the
request may be retried: nothing was written); anything else is a 500 whose text says
nothing about the internals (the log has the details).
"""

from __future__ import annotations

import logging
import re
from typing import Any

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
    HTTP_500_INTERNAL_SERVER_ERROR,
    HTTP_503_SERVICE_UNAVAILABLE,
)

from ..errors import (
    ConfigError,
    Conflict,
    DatabaseUnavailable,
    InvalidInput,
    NotFound,
    RegistryError,
    SchemaError,
)
from ..schemas import Problem
from ..store.database import DatabaseError, is_unavailable
from .views import ErrorBody

log = logging.getLogger("registry.app")


def error(status: int, detail: str, **extra: Any) -> Response[ErrorBody]:
    headers = extra.pop("headers", None)
    return Response(
        ErrorBody(status_code=status, detail=detail, **extra),
        status_code=status,
        media_type=MediaType.JSON,
        headers=headers,
    )


def invalid_input(_: Request, exc: InvalidInput) -> Response[ErrorBody]:
    problems = tuple(_named(p) for p in exc.problems if isinstance(p, Problem))
    field = next((p.field for p in problems if p.field), None)
    return error(HTTP_400_BAD_REQUEST, str(exc), field=field, problems=problems)


# msgspec names an unknown or a missing key in its message, and gives only the path of the
# object that holds it.
_KEY_IN_MESSAGE = re.compile(r"(?:unknown field|missing required field) '([^']+)'")


def _named(problem: Problem) -> Problem:
    """A problem in a request body with the key msgspec named in its message as its field
    (``approvals[0].by``), so that every 400 names the offending field."""
    found = _KEY_IN_MESSAGE.search(problem.message) if problem.rule == "request" else None
    if found is None:
        return problem
    field = f"{problem.field}.{found[1]}" if problem.field else found[1]
    return msgspec.structs.replace(problem, field=field)


def not_found(_: Request, exc: NotFound) -> Response[ErrorBody]:
    return error(HTTP_404_NOT_FOUND, str(exc))


def conflict(_: Request, exc: Conflict) -> Response[ErrorBody]:
    return error(HTTP_409_CONFLICT, str(exc))


def unavailable(request: Request, exc: Exception) -> Response[ErrorBody]:
    log.warning("database unavailable on %s %s: %s", request.method, request.url.path, type(exc))
    return error(
        HTTP_503_SERVICE_UNAVAILABLE,
        "the registry's database is not answering; nothing was recorded, try again shortly",
        headers={"Retry-After": "1"},
    )


def database_error(request: Request, exc: Exception) -> Response[ErrorBody]:
    if is_unavailable(exc):
        return unavailable(request, exc)
    return internal(request, exc)


def other_registry_error(request: Request, exc: RegistryError) -> Response[ErrorBody]:
    if isinstance(exc, (SchemaError, ConfigError)):
        log.error("registry misconfigured: %s", exc)
        return error(HTTP_503_SERVICE_UNAVAILABLE, f"the registry is not ready: {exc}")
    return error(HTTP_400_BAD_REQUEST, str(exc))


def http_error(_: Request, exc: HTTPException) -> Response[ErrorBody]:
    field = None
    detail = exc.detail
    if isinstance(exc, ValidationException) and isinstance(exc.extra, list) and exc.extra:
        first = exc.extra[0]
        if isinstance(first, dict):
            field = first.get("key")
            detail = f"{detail}: {first.get('message', '')}".rstrip(": ")
    return error(exc.status_code, detail, field=field, headers=exc.headers)


def internal(request: Request, exc: Exception) -> Response[ErrorBody]:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return error(HTTP_500_INTERNAL_SERVER_ERROR, "internal error; the service log has details")


HANDLERS: dict[Any, Any] = {
    InvalidInput: invalid_input,
    NotFound: not_found,
    Conflict: conflict,
    DatabaseUnavailable: unavailable,
    RegistryError: other_registry_error,
    DatabaseError: database_error,
    HTTPException: http_error,
    HTTP_500_INTERNAL_SERVER_ERROR: internal,
}
