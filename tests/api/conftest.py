"""An API over a fresh database (SQLite and PostgreSQL) with the shipped agreements and a
token for every role."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import anyio
import pytest
from litestar.testing import TestClient

from registry.access import Tokens
from registry.app import create_app
from registry.service import Registry
from tests.conftest import AGREEMENTS

SYSTEM = "irs-itin-address"


@dataclass
class Api:
    client: TestClient[Any]
    registry: Registry
    tokens: dict[str, str] = field(default_factory=dict)

    def headers(self, role: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}", **extra}

    def get(self, path: str, role: str = "admin", **kw: Any) -> Any:
        return self.client.get(path, headers=self.headers(role, **kw.pop("headers", {})), **kw)

    def post(self, path: str, role: str = "admin", **kw: Any) -> Any:
        return self.client.post(path, headers=self.headers(role, **kw.pop("headers", {})), **kw)

    def put(self, path: str, role: str = "admin", **kw: Any) -> Any:
        return self.client.put(path, headers=self.headers(role, **kw.pop("headers", {})), **kw)


def asgi_scope(method: str, path: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    """The scope of an HTTP request from a local client, as a server hands it over."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 5000),
    }


def post_in_chunks(
    api: Api, path: str, chunks: Iterable[bytes], headers: list[tuple[bytes, bytes]], ends: bool
) -> tuple[int, bytes]:
    """POST ``chunks`` straight to the application, as a server such as granian hands over
    a chunked upload (the test client would join them), with no Content-Length; without
    ``ends`` the client goes away after the last one. The status and body answered."""
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": chunk, "more_body": True} for chunk in chunks
    ]
    if ends:
        messages.append({"type": "http.request", "body": b"", "more_body": False})
    pending = iter(messages)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return next(pending, {"type": "http.disconnect"})

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {**asgi_scope("POST", path, headers), "state": {}}
    anyio.run(api.client.app, scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], body


def issue_tokens(registry: Registry) -> dict[str, str]:
    tokens = Tokens(registry.db)
    issued = {
        role: tokens.create(role, name=f"test {role}", by="tests").token
        for role in ("legal", "reviewer", "auditor", "admin")
    }
    issued["system"] = tokens.create("system", name="ITIN system", by="tests", system=SYSTEM).token
    issued["other_system"] = tokens.create(
        "system", name="another system", by="tests", system="ssa-wage-records"
    ).token
    return issued


@pytest.fixture
def route() -> str:
    """How checks reach the writer: through the litestar route. A module that overrides
    this fixture with ``params=ROUTES`` runs its tests both ways."""
    return "route"


# "route": tokens are looked up on every request, so every check goes through litestar;
# "short": tokens are remembered and every token was used once before the test, so every
# ordinary check takes the short way (registry.app.fastpath).
ROUTES = ["route", "short"]


@pytest.fixture
def api(db_url: str, route: str) -> Iterator[Api]:
    registry = Registry.open(db_url)
    registry.load([AGREEMENTS])
    tokens = issue_tokens(registry)
    app = create_app(registry, token_cache_seconds=0 if route == "route" else 3600)
    try:
        with TestClient(app) as client:
            if route == "short":
                for token in tokens.values():
                    client.get("/v1/keys", headers={"Authorization": f"Bearer {token}"})
            yield Api(client, registry, tokens)
    finally:
        registry.close()
