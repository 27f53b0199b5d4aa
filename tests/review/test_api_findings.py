"""Review findings on the HTTP API change (9e65ac6..HEAD): each test fails against the
current code because of a real bug. See the review report for file:line and fixes."""

# ruff: noqa: F811 - the api fixture is imported from tests/api

from __future__ import annotations

import datetime
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
import yaml

from registry.app import create_app
from registry.service import Registry
from tests.api.conftest import Api, api, asgi_scope, issue_tokens, route  # noqa: F401 - fixtures
from tests.checking.helpers import record, request
from tests.conftest import AGREEMENTS
from tests.faults import api_on


@pytest.fixture
def sqlite_api(tmp_path: Path) -> Iterator[Api]:
    """The API on SQLite only, for findings that do not depend on the database."""
    with api_on(f"sqlite:///{tmp_path / 'registry.db'}") as served:
        yield served


# --- authentication: the /health exclusion is a regex searched anywhere in the path ----------


def test_an_agreement_whose_id_starts_with_health_is_readable(sqlite_api: Api) -> None:
    # DefineMiddleware(TokenAuthentication, exclude=["/health"]): litestar compiles the
    # exclusions as a regex and *searches* the path, so every path containing "/health"
    # skips authentication; the route's guard then reads connection.user, which is not
    # set, and the answer is 500 for everyone, with or without a valid token.
    answer = sqlite_api.get("/v1/agreements/health-data-2026-dua", "legal")
    assert answer.status_code == 404, answer.text


def test_a_path_containing_health_still_needs_a_token(sqlite_api: Api) -> None:
    answer = sqlite_api.client.get("/v1/agreements/health-data-2026-dua")
    assert answer.status_code == 401, answer.text


# --- dates at the ends of the calendar are 5xx ------------------------------------------------


@pytest.mark.parametrize("on", ["0001-01-01", "0001-01-20"])
def test_a_check_dated_in_year_one_is_not_a_server_error(api: Api, on: str) -> None:
    # checking._usage / _decide_in_turn: on - timedelta(days=period_days - 1) overflows
    # (OverflowError -> 500) although the request is valid JSON with a valid date.
    answer = api.post("/v1/checks", "system", json=request(on=on, records=[record(1)]))
    assert answer.status_code < 500, answer.text


def test_a_streamed_check_dated_in_year_one_is_not_a_server_error(api: Api) -> None:
    body = json.dumps(request(on="0001-01-01")) + "\n" + json.dumps(record(1)) + "\n"
    answer = api.post(
        "/v1/checks/records",
        "system",
        content=body,
        headers={"Content-Type": "application/x-ndjson"},
    )
    assert answer.status_code < 500, answer.text


@pytest.mark.parametrize(
    "path",
    [
        "/v1/expiring?as_of=9999-12-31",
        "/v1/agreements?on=9999-12-31&expiring_within=5",
    ],
)
def test_a_listing_as_of_the_last_day_is_not_a_server_error(sqlite_api: Api, path: str) -> None:
    # as_of + timedelta(days=within) overflows: 500 instead of 200 or 400.
    answer = sqlite_api.get(path, "legal")
    assert answer.status_code < 500, answer.text


# --- period limits: a check dated earlier than ones already allowed -------------------------


def test_a_backdated_check_cannot_overfill_a_later_window(loaded: Registry) -> None:
    # The ICE MOU allows 10,000 records in any 30 days. _decide_in_turn (and _usage, one by
    # one) only count records dated on or before the check's own date, so checks dated
    # 2025-06-15 that come after 10,000 records dated 2025-06-30 see an empty window and are
    # allowed: the 30 days 2025-06-01..06-30 then hold 20,000 records.
    from registry.checking import decode_request

    late = [decode_request(request(record_count=2_500, on="2025-06-30")) for _ in range(4)]
    early = [decode_request(request(record_count=2_500, on="2025-06-15")) for _ in range(4)]
    decided = loaded.checking.check_batch(late + early)
    assert all(d.allowed for d in decided[:4])
    window = [
        d
        for d in loaded.decisions(allowed=True, limit=100)
        if datetime.date(2025, 6, 1) <= d.on <= datetime.date(2025, 6, 30)  # type: ignore[operator]
    ]
    assert sum(d.record_count for d in window) <= 10_000, [str(d.on) for d in window]


# --- text that PostgreSQL cannot store -------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/v1/decisions/%00", None),
        ("GET", "/v1/agreements/%00x", None),
        ("GET", "/v1/agreements/%00x/history", None),
        ("POST", "/v1/decisions/%00/cancel", {"reason": "did not export"}),
        (
            "POST",
            "/v1/agreements/irs-ice-2025-mou/suspend",
            {"on": "2026-01-01", "reason": "a\u0000b"},
        ),
    ],
    ids=["decision", "agreement", "history", "cancel", "status-reason"],
)
def test_a_nul_character_is_bad_input_not_a_server_error(
    api: Api, method: str, path: str, body: Any
) -> None:
    # On PostgreSQL, a NUL in a path parameter or a stored text raises psycopg.DataError
    # (sqlalchemy DataError, not "unavailable"): errors.database_error answers 500, and the
    # log line carries the statement's parameters.
    answer = api.client.request(method, path, headers=api.headers("admin"), json=body)
    assert answer.status_code < 500, answer.text


# --- agreement documents: YAML aliases expand exponentially -----------------------------------


def _alias_bomb(levels: int) -> bytes:
    """The shipped ICE agreement as a JSON/YAML document whose [checkers.extra] table is a
    nested-alias 'bomb': about 2 KB that stands for 10**levels strings."""
    import tomllib

    data = tomllib.loads((AGREEMENTS / "irs-ice-2025-mou.toml").read_text())
    data = json.loads(json.dumps(data, default=str))
    data["checkers"]["extra"] = "BOMB"
    text = yaml.safe_dump(data, sort_keys=False)
    anchors = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    anchors += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, levels)]
    return text.replace("BOMB", "{" + ", ".join(anchors) + "}").encode()


def test_an_agreement_document_with_nested_aliases_is_refused_at_once(sqlite_api: Api) -> None:
    # documents._decode_text reads YAML, and bodies sent as application/json, with a
    # SafeLoader that resolves aliases; msgspec.convert and the structure walk then visit
    # the expanded tree (10**levels values) before lint refuses the table. 2 KB from a
    # legal token cost ~25 s of a worker's CPU at 7 levels, x10 per further level (memory
    # too, once it is encoded): a handful of such PUTs takes the service down.
    body = _alias_bomb(7)
    assert len(body) < 4_000
    started = time.monotonic()
    answer = sqlite_api.put(
        "/v1/agreements/irs-ice-2025-mou",
        "legal",
        content=body,
        headers={"Content-Type": "application/json", "If-Match": '"1"'},
    )
    elapsed = time.monotonic() - started
    assert answer.status_code == 400, answer.text[:300]
    assert elapsed < 5, f"a {len(body)}-byte document took {elapsed:.1f} s to refuse"


# --- receipts: a cancelled decision's receipt still verifies ----------------------------------


def test_the_receipt_of_a_cancelled_decision_is_not_vouched_for(sqlite_api: Api) -> None:
    # POST /v1/receipts/verify checks only the signature. After a cancel (records released
    # from the limit, disclosures dropped from the accounting), the same receipt still
    # verifies as valid, although GET /v1/decisions/{id} no longer gives one.
    decided = sqlite_api.post("/v1/checks", "system", json=request(records=[record(1)])).json()
    assert decided["allowed"] and decided["receipt"]
    cancelled = sqlite_api.post(
        f"/v1/decisions/{decided['decision_id']}/cancel",
        "system",
        json={"reason": "export did not happen"},
    )
    assert cancelled.status_code == 200, cancelled.text
    assert (
        "receipt" not in sqlite_api.get(f"/v1/decisions/{decided['decision_id']}", "system").json()
    )
    verified = sqlite_api.post(
        "/v1/receipts/verify", "auditor", json={"receipt": decided["receipt"]}
    )
    assert verified.status_code != 200 or verified.json().get("cancelled") is True, (
        "the registry vouches for the receipt of a cancelled decision: " + verified.text
    )
    # and a program can tell why without reading the message
    assert verified.status_code == 400 and verified.json()["code"] == "cancelled"
    garbled = sqlite_api.post("/v1/receipts/verify", "auditor", json={"receipt": "not-one"})
    assert garbled.status_code == 400 and garbled.json()["code"] == "malformed"


# --- streams: slow uploads hold the API's shared worker threads -------------------------------


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Registry, dict[str, str]]]:
    registry = Registry.open(f"sqlite:///{tmp_path / 'registry.db'}")
    try:
        registry.load([AGREEMENTS])
        yield registry, issue_tokens(registry)
    finally:
        registry.close()


def test_stalled_record_uploads_do_not_starve_the_other_routes(
    served: tuple[Registry, dict[str, str]],
) -> None:
    # check_records runs the whole check in anyio.to_thread.run_sync, and that thread
    # blocks in chunks.get() while it waits for the network. Token lookups
    # (TokenAuthentication: anyio.to_thread.run_sync(tokens.authenticate)) share anyio's
    # default limiter of 40 threads, so 40 uploads that stall (or are merely long: bulk
    # transfers of millions of records) leave no thread to look a token up: every caller
    # whose token is not in the 5-second cache waits, on every route.
    registry, tokens = served
    app = create_app(registry)  # the default token cache
    first_line = json.dumps(request()).encode() + b"\n" + json.dumps(record(1)).encode() + b"\n"
    upload_headers = [
        (b"authorization", f"Bearer {tokens['system']}".encode()),
        (b"content-type", b"application/x-ndjson"),
    ]
    legal_headers = [(b"authorization", f"Bearer {tokens['legal']}".encode())]
    answered: dict[str, Any] = {}

    async def main() -> None:
        release = anyio.Event()

        async def stalled_upload() -> None:
            sent = False

            async def receive() -> dict[str, Any]:
                nonlocal sent
                if not sent:
                    sent = True
                    return {"type": "http.request", "body": first_line, "more_body": True}
                await release.wait()  # the client stops sending, then goes away
                return {"type": "http.disconnect"}

            async def send(message: dict[str, Any]) -> None:
                pass

            scope = asgi_scope("POST", "/v1/checks/records", upload_headers)
            await app(scope, receive, send)  # type: ignore[arg-type]

        async def list_agreements() -> None:
            async def receive() -> dict[str, Any]:
                return {"type": "http.request", "body": b"", "more_body": False}

            async def send(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    answered["agreements"] = message["status"]

            scope = asgi_scope("GET", "/v1/agreements", legal_headers)
            await app(scope, receive, send)  # type: ignore[arg-type]

        async with app.lifespan(), anyio.create_task_group() as group:
            for _ in range(40):
                group.start_soon(stalled_upload)
            await anyio.sleep(2)  # every upload has reached its checking thread
            with anyio.move_on_after(5):
                await list_agreements()
            release.set()

    anyio.run(main)
    assert answered.get("agreements") == 200, "GET /v1/agreements did not answer within 5 s"
