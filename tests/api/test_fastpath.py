"""The short way for ordinary checks (registry.app.fastpath): it answers as the litestar
route does, and leaves to the route every request it should not take."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anyio
import litestar
import pytest
from litestar.testing import TestClient

from registry.app import create_app
from registry.errors import DatabaseUnavailable
from registry.service import Registry
from tests.api.conftest import Api, asgi_scope, issue_tokens, post_in_chunks
from tests.checking.helpers import record, request
from tests.conftest import AGREEMENTS

CHECKS = "/v1/checks"


@pytest.fixture
def routed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths of the requests litestar itself was given."""
    seen: list[str] = []
    original = litestar.Litestar.__call__

    async def spy(self: Any, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            seen.append(scope["path"])
        await original(self, scope, receive, send)

    monkeypatch.setattr(litestar.Litestar, "__call__", spy)
    return seen


def _api(db_url: str, **options: Any) -> Iterator[Api]:
    registry = Registry.open(db_url)
    registry.load([AGREEMENTS])
    tokens = issue_tokens(registry)
    try:
        with TestClient(create_app(registry, token_cache_seconds=3600, **options)) as client:
            yield Api(client, registry, tokens)
    finally:
        registry.close()


@pytest.fixture
def fresh(db_url: str) -> Iterator[Api]:
    """An API whose tokens were never used: the first request of each goes to litestar."""
    yield from _api(db_url)


@pytest.fixture
def small(db_url: str) -> Iterator[Api]:
    yield from _api(db_url, max_body_bytes=2048)


def _warm(api: Api, *roles: str) -> None:
    for role in roles:
        assert api.get("/v1/keys", role=role).status_code in (200, 403)


def test_a_token_seen_before_checks_without_litestar_and_gets_the_same_answer(
    fresh: Api, routed: list[str]
) -> None:
    body = request(records=[record(1)])
    key = {"Idempotency-Key": "export-0001"}
    first = fresh.post(CHECKS, role="system", json=body, headers=key)
    assert routed == [CHECKS]  # the token was not known yet
    again = fresh.post(CHECKS, role="system", json=body, headers=key)
    other = fresh.post(CHECKS, role="system", json=request(records=[record(2)]))
    assert routed == [CHECKS]
    assert first.status_code == again.status_code == other.status_code == 200
    assert again.content == first.content  # the logged decision, receipt and all
    for name in ("content-type", "content-length"):
        assert again.headers[name] == first.headers[name]
    assert sorted(again.headers) == sorted(first.headers)
    assert other.json()["allowed"] is True
    assert other.json()["decision_id"] != first.json()["decision_id"]
    assert fresh.registry.verify().entries == 2


@pytest.mark.parametrize(
    ("role", "headers", "body", "status", "to_litestar"),
    [
        ("reviewer", {}, request(), 403, True),  # a role that may not check
        ("other_system", {}, request(), 403, True),  # a system token speaks for its own only
        ("system", {"Idempotency-Key": "not a key"}, request(), 400, True),
        ("system", {}, "{", 400, True),  # not JSON: who it speaks for cannot be read
        # Named twice, the system is the last one, as the writer reads it.
        ("system", {}, json.dumps(request())[:-1] + ', "source_system": "other"}', 403, True),
        ("system", {}, {"source_system": 3}, 400, True),
        # The system can be read, the rest is wrong: the writer says so, and the answer is
        # the route's (the error handlers are litestar's).
        ("system", {}, {**request(), "fields": "taxpayer.name"}, 400, False),
        ("admin", {}, request(), 200, False),  # the admin role may check any system's
    ],
    ids=[
        "role",
        "other-system",
        "bad-key",
        "not-json",
        "system-twice",
        "bad-system",
        "bad-fields",
        "admin",
    ],
)
def test_what_the_short_way_does_not_take_litestar_answers(
    fresh: Api,
    routed: list[str],
    role: str,
    headers: dict[str, str],
    body: Any,
    status: int,
    to_litestar: bool,
) -> None:
    _warm(fresh, role)
    routed.clear()
    content = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    answer = fresh.post(CHECKS, role=role, content=content, headers=headers)
    assert answer.status_code == status, answer.text
    assert routed == ([CHECKS] if to_litestar else [])
    if status == 400:
        named = answer.json().get("field")
        assert named in ("Idempotency-Key", "fields", "source_system") or "truncated" in answer.text
    if status != 200:
        assert fresh.registry.verify().entries == 0


def test_a_bad_body_gets_the_same_answer_either_way(fresh: Api, routed: list[str]) -> None:
    bad = {**request(), "fields": "taxpayer.name"}
    through_route = fresh.post(CHECKS, role="system", json=bad)
    short = fresh.post(CHECKS, role="system", json=bad)
    assert routed == [CHECKS]
    assert short.status_code == through_route.status_code == 400
    assert short.json() == through_route.json()
    assert short.json()["field"] == "fields"


def test_a_body_over_the_limit_is_left_to_litestar(small: Api, routed: list[str]) -> None:
    _warm(small, "system")
    routed.clear()
    big = request(records=[record(i) for i in range(1, 40)])
    assert len(json.dumps(big)) > 2048
    answer = small.post(CHECKS, role="system", json=big)
    assert answer.status_code == 413
    assert routed == [CHECKS]
    assert small.post(CHECKS, role="system", json=request()).status_code == 200
    assert routed == [CHECKS]


def _send(api: Api, chunks: list[bytes]) -> tuple[int, bytes]:
    """POST /v1/checks in ``chunks`` with no Content-Length."""
    authorization = f"Bearer {api.tokens['system']}".encode()
    return post_in_chunks(api, CHECKS, chunks, [(b"authorization", authorization)], True)


def test_a_chunked_body_is_joined_and_one_over_the_limit_is_replayed_to_litestar(
    small: Api, routed: list[str]
) -> None:
    _warm(small, "system")
    routed.clear()
    body = json.dumps(request(records=[record(1)])).encode()
    status, answer = _send(small, [body[:100], body[100:]])
    assert status == 200, answer
    assert routed == []
    big = json.dumps(request(records=[record(i) for i in range(1, 40)])).encode()
    status, answer = _send(small, [big[i : i + 1000] for i in range(0, len(big), 1000)])
    assert status == 413  # litestar read the chunks the short way had read, and the rest
    assert routed == [CHECKS]
    assert small.registry.verify().entries == 1


@pytest.mark.parametrize(
    ("error", "status"),
    [(DatabaseUnavailable("the database is down"), 503), (RuntimeError("a bug"), 500)],
    ids=["unavailable", "internal"],
)
def test_an_error_from_the_writer_is_answered_as_the_route_answers_it(
    fresh: Api, routed: list[str], error: Exception, status: int
) -> None:
    async def failing(body: bytes, key: Any) -> Any:
        raise error

    fresh.client.app.state.checks = failing
    through_route = fresh.post(CHECKS, role="system", json=request())
    assert routed == [CHECKS]
    short = fresh.post(CHECKS, role="system", json=request())
    assert routed == [CHECKS]
    assert short.status_code == through_route.status_code == status
    assert short.json() == through_route.json()
    assert short.headers.get("retry-after") == through_route.headers.get("retry-after")


def _asgi(api: Api, scope: dict[str, Any], messages: list[Any]) -> tuple[int, bytes]:
    """Hand ``scope`` straight to the application, as a server would; the client's
    ``messages`` in turn (an exception among them is raised by ``receive``)."""
    pending = iter(messages)
    sent: list[dict[str, Any]] = []

    async def receive() -> Any:
        message = next(pending, {"type": "http.disconnect"})
        if isinstance(message, Exception):
            raise message
        return message

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    anyio.run(api.client.app, {**scope, "state": {}}, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    return start["status"], b"".join(m.get("body", b"") for m in sent[1:])


def _check_scope(api: Api, path: str = CHECKS, **over: Any) -> dict[str, Any]:
    headers = [(b"authorization", f"Bearer {api.tokens['system']}".encode())]
    return {**asgi_scope("POST", path, headers + over.pop("headers", [])), **over}


BODY = json.dumps(request(records=[record(1)])).encode()


@pytest.mark.parametrize(
    ("over", "status"),
    [
        ({"headers": [(b"host", b"bad host")]}, 400),  # litestar refuses it before routing
        ({"headers": [(b"content-length", b"0" * 5000 + str(len(BODY)).encode())]}, 400),
        ({"root_path": "/v1"}, 404),  # mounted under /v1, this is /v1/v1/checks
    ],
    ids=["bad-host", "long-content-length", "root-path"],
)
def test_what_litestar_refuses_before_routing_is_left_to_it(
    fresh: Api, routed: list[str], over: dict[str, Any], status: int
) -> None:
    _warm(fresh, "system")
    routed.clear()
    got, answer = _asgi(fresh, _check_scope(fresh, **over), [_whole(BODY)])
    assert got == status, answer
    assert routed == [CHECKS]
    assert fresh.registry.verify().entries == 0


def test_under_a_root_path_the_short_way_is_still_taken(fresh: Api, routed: list[str]) -> None:
    _warm(fresh, "system")
    routed.clear()
    scope = _check_scope(fresh, "/registry" + CHECKS, root_path="/registry")
    status, answer = _asgi(fresh, scope, [_whole(BODY)])
    assert status == 200, answer
    assert json.loads(answer)["allowed"] is True
    assert routed == []


def test_a_receive_that_fails_mid_body_is_answered_by_litestar(
    fresh: Api, routed: list[str]
) -> None:
    _warm(fresh, "system")
    routed.clear()
    partial = {"type": "http.request", "body": BODY[:50], "more_body": True}
    status, answer = _asgi(fresh, _check_scope(fresh), [partial, OSError("reset")])
    assert status == 500
    assert json.loads(answer)["status_code"] == 500
    assert routed == [CHECKS]
    assert fresh.registry.verify().entries == 0


def _whole(body: bytes) -> dict[str, Any]:
    return {"type": "http.request", "body": body, "more_body": False}
