"""The HTTP API: ``create_app()`` builds the litestar application; ``registry serve`` runs
it under granian. The only package that imports litestar.

Handlers are sync and run in worker threads (the registry's database work is sync
SQLAlchemy); the NDJSON upload is async and hands records to a thread as they arrive.
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import AsyncIterator

import anyio
from litestar import Litestar, Router
from litestar.datastructures import State
from litestar.middleware.base import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, YamlRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

from ..access import Tokens
from ..service import Registry
from ..writer import MAX_FRAME, SOCKET_ENV, WriterClient, in_process
from .auth import FailedAttempts, TokenAuthentication, public_path_patterns
from .bodies import COMPONENTS
from .errors import HANDLERS
from .fastpath import RegistryApp
from .metrics import Metrics
from .routes.agreements import (
    REVIEW_ROUTES,
    STATUS_ROUTES,
    AgreementController,
    PartyController,
)
from .routes.audit import DecisionController, DisclosureController, ReportController
from .routes.checks import CheckController
from .routes.service import ServiceController, health, metrics
from .web import web_pages

DEFAULT_MAX_BODY = 16 * 1024 * 1024
MAX_BODY_LIMIT = MAX_FRAME - 64 * 1024  # room for the frame's id and idempotency key


def max_body_from_env() -> int:
    raw = os.environ.get("REGISTRY_MAX_BODY_BYTES", "")
    if not raw:
        return DEFAULT_MAX_BODY
    from ..errors import ConfigError

    if not raw.isdigit() or not 1024 <= int(raw) <= MAX_BODY_LIMIT:
        raise ConfigError(
            f"REGISTRY_MAX_BODY_BYTES must be a number of bytes from 1024 to {MAX_BODY_LIMIT} "
            f"(a check's body goes to the writer process in one frame), not {raw!r}"
        )
    return int(raw)


def create_app(
    registry: Registry | None = None,
    *,
    database_url: str | None = None,
    max_body_bytes: int | None = None,
    token_cache_seconds: float = 5.0,
    max_streams: int = 16,
    failed_auth_limit: int = 30,
) -> RegistryApp:
    """The application. Given a ``registry``, it uses it (and leaves closing it to the
    caller); otherwise it opens one from ``database_url`` or the settings at start-up and
    closes it at shutdown."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        owned = registry is None
        opened = registry or Registry.open(database_url)
        app.state.registry = opened
        # Under ``registry serve`` a writer process decides every worker's checks
        # (registry.writer); otherwise this process does.
        socket = os.environ.get(SOCKET_ENV) if owned else None
        client = WriterClient(socket) if socket else None
        app.state.checks = client.check if client is not None else in_process(opened)
        app.state.tokens = Tokens(opened.db, cache_seconds=token_cache_seconds)
        # Threads of their own for token lookups and for NDJSON uploads (which hold a
        # thread while they last), apart from the pool the other routes run in.
        app.state.auth_threads = anyio.CapacityLimiter(8)
        app.state.stream_threads = anyio.CapacityLimiter(max_streams)
        app.state.failed_auth = FailedAttempts(failed_auth_limit)
        # What start-up built (plugins, catalog, routes) lives as long as the process:
        # move it out of the collector's way, so that collections only scan new objects.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            if client is not None:
                client.close()
            if owned:
                opened.close()

    api = Router(
        path="/",
        route_handlers=[
            AgreementController,
            *STATUS_ROUTES,
            *REVIEW_ROUTES,
            PartyController,
            CheckController,
            DecisionController,
            DisclosureController,
            ReportController,
            ServiceController,
            metrics,
        ],
    )
    app = RegistryApp(
        route_handlers=[health, api, web_pages()],
        lifespan=[lifespan],
        state=State({"metrics": Metrics()}),
        middleware=[
            DefineMiddleware(TokenAuthentication, exclude=public_path_patterns()),
        ],
        exception_handlers=HANDLERS,
        request_max_body_size=max_body_bytes or max_body_from_env(),
        openapi_config=_openapi(),
        debug=False,
    )
    return app


def _openapi() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Agreement registry",
        version="1",
        description=(
            "Ask before every export whether a transfer of personal data fits an active "
            "data-sharing agreement. Every route but /health needs a bearer token; "
            "docs/api.md lists what each role may do."
        ),
        path="/schema",
        render_plugins=[JsonRenderPlugin(), YamlRenderPlugin()],
        components=Components(
            schemas=dict(COMPONENTS),
            security_schemes={
                "token": SecurityScheme(type="http", scheme="bearer", description="API token")
            },
        ),
        security=[{"token": []}],
        use_handler_docstrings=True,
    )


def serve_app() -> RegistryApp:
    """The factory ``registry serve`` hands to granian (settings from the environment)."""
    return create_app()


__all__ = ["create_app", "serve_app"]
