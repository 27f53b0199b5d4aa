"""The registry's errors as JSON answers, mapped once for every route.

Bad input is a 4xx naming the field; a database that does not answer is a 503 (the
request may be retried: nothing was written), or a 504 when the connection broke while
committing and the database could not say whether the commit went through; anything else
is a 500 whose text says nothing about the internals (the log has the details).
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
    HTTP_500_INTERNAL_SERVER_ERROR,
    HTTP_503_SERVICE_UNAVAILABLE,
    HTTP_504_GATEWAY_TIMEOUT,
)

from ..errors import (
    CommitInDoubt,
    ConfigError,
    Conflict,
    DatabaseUnavailable,
    InvalidInput,
    NotFound,
    Overloaded,
    RegistryError,
    SchemaError,
)
from ..schemas import Problem
from ..store.database import BAD_DATA, DatabaseError, is_bad_data, is_unavailable
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
    problems = tuple(p for p in exc.problems if isinstance(p, Problem))
    field = next((p.field for p in problems if p.field), None)
    code = getattr(exc, "code", None)  # a receipt's reason (registry.receipts.InvalidReceipt)
    return error(HTTP_400_BAD_REQUEST, str(exc), field=field, problems=problems, code=code)


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


def in_doubt(request: Request, exc: CommitInDoubt) -> Response[ErrorBody]:
    """Not 503, which promises that nothing was recorded: a client must look the change
    up (or send the check again with the same Idempotency-Key) rather than repeat it."""
    log.warning("commit in doubt on %s %s", request.method, request.url.path)
    return error(HTTP_504_GATEWAY_TIMEOUT, str(exc))


def overloaded(_: Request, exc: Overloaded) -> Response[ErrorBody]:
    return error(HTTP_503_SERVICE_UNAVAILABLE, str(exc), headers={"Retry-After": "1"})


def database_error(request: Request, exc: Exception) -> Response[ErrorBody]:
    if is_unavailable(exc):
        return unavailable(request, exc)
    if is_bad_data(exc):
        return error(HTTP_400_BAD_REQUEST, BAD_DATA)
    return internal(request, exc)


def other_registry_error(request: Request, exc: RegistryError) -> Response[ErrorBody]:
    if isinstance(exc, (SchemaError, ConfigError)):
        log.error("registry misconfigured: %s", exc)
        return error(HTTP_503_SERVICE_UNAVAILABLE, f"the registry is not ready: {exc}")
    return error(HTTP_400_BAD_REQUEST, str(exc))


def http_error(request: Request, exc: HTTPException) -> Response[ErrorBody]:
    field = None
    detail = exc.detail
    if isinstance(exc, ValidationException) and isinstance(exc.extra, list) and exc.extra:
        first = exc.extra[0]
        if isinstance(first, dict):
            field = _parameter_name(request, first.get("key"))
            detail = f"{detail}: {first.get('message', '')}".rstrip(": ")
    return error(exc.status_code, detail, field=field, headers=exc.headers)


def _parameter_name(request: Request, key: Any) -> str | None:
    """The name the caller used (``from``) for the handler's argument (``from_version``)."""
    if not isinstance(key, str):
        return None
    try:
        parameter = request.route_handler.parsed_fn_signature.parameters.get(key)
    except Exception:  # no handler resolved: the key is all there is
        return key
    alias = getattr(getattr(parameter, "kwarg_definition", None), "name", None)
    return alias if isinstance(alias, str) and alias else key


def not_utf8(_: Request, exc: UnicodeDecodeError) -> Response[ErrorBody]:
    """msgspec raises UnicodeDecodeError for a JSON string that is not UTF-8: bad input."""
    return error(HTTP_400_BAD_REQUEST, f"the body is not UTF-8 (byte {exc.start}): {exc.reason}")


_MEANINGS = {
    400: "Bad input, the offending field named; nothing was written.",
    401: "No bearer token, or one that is unknown, expired or revoked.",
    403: "The token's role may not do this, or a system token asked for another system.",
    404: "No such agreement, version or decision.",
    409: "The change conflicts with the stored state; nothing was written.",
    413: "The body is over the configured limit.",
    415: "A document in a media type other than TOML, YAML or JSON.",
    503: "The database does not answer; nothing was recorded, try again (Retry-After).",
}


def answers(*statuses: int) -> dict[int, ResponseSpec]:
    """The error answers of a route that needs a token, for its OpenAPI operation:
    ``statuses``, 401, and 503 (the token's lookup reads the database)."""
    every = {401, 503, *statuses}
    return {
        status: ResponseSpec(
            data_container=ErrorBody, description=_MEANINGS[status], generate_examples=False
        )
        for status in sorted(every)
    }


def internal(request: Request, exc: Exception) -> Response[ErrorBody]:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return error(HTTP_500_INTERNAL_SERVER_ERROR, "internal error; the service log has details")


def handle(request: Request, exc: Exception) -> Response[ErrorBody]:
    """The answer the handlers below give ``exc``, for code that answers outside a route
    (registry.app.fastpath): the handler of its nearest class, else a 500."""
    for cls in type(exc).__mro__:
        handler = HANDLERS.get(cls)
        if handler is not None:
            return handler(request, exc)
    return internal(request, exc)


HANDLERS: dict[Any, Any] = {
    InvalidInput: invalid_input,
    NotFound: not_found,
    Conflict: conflict,
    CommitInDoubt: in_doubt,
    DatabaseUnavailable: unavailable,
    Overloaded: overloaded,
    RegistryError: other_registry_error,
    DatabaseError: database_error,
    HTTPException: http_error,
    UnicodeDecodeError: not_utf8,
    HTTP_500_INTERNAL_SERVER_ERROR: internal,
}
