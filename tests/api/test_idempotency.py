"""Idempotency keys on checks: a check sent again with its key gets the first decision,
so retrying after a lost answer never logs a second allowed transfer."""

from __future__ import annotations

import concurrent.futures
from typing import Any

import msgspec
import pytest

from registry.checking import decode_request
from registry.errors import Conflict
from registry.groupcommit import decide_all
from registry.schemas import Decision
from registry.service import Registry
from tests.api.conftest import ROUTES, Api
from tests.checking.helpers import record, request


@pytest.fixture(params=ROUTES)
def route(request: pytest.FixtureRequest) -> str:
    """Every test here runs with checks through the litestar route and the short way."""
    return str(request.param)


def _post(api: Api, body: dict[str, object], key: str | None) -> Any:
    headers = {"Idempotency-Key": key} if key else {}
    return api.post("/v1/checks", role="system", json=body, headers=headers)


def test_the_same_key_gets_the_first_decision(api: Api) -> None:
    body = request(records=[record(1)])
    first = _post(api, body, "export-2025-06-01-0001")
    again = _post(api, body, "export-2025-06-01-0001")
    assert first.status_code == again.status_code == 200
    assert first.json()["decision_id"] == again.json()["decision_id"]
    assert again.json()["receipt"] == first.json()["receipt"]
    assert api.registry.verify().entries == 1
    assert len(api.registry.disclosures(subject="100000001")) == 1


def test_another_request_under_a_used_key_is_409_and_not_logged(api: Api) -> None:
    _post(api, request(records=[record(1)]), "k-1")
    other = _post(api, request(records=[record(2)]), "k-1")
    assert other.status_code == 409
    assert "another request" in other.json()["detail"]
    assert api.registry.verify().entries == 1


def test_without_a_key_every_check_is_a_new_decision(api: Api) -> None:
    body = request(records=[record(1)])
    ids = {_post(api, body, None).json()["decision_id"] for _ in range(2)}
    assert len(ids) == 2


def test_keys_belong_to_the_caller(api: Api) -> None:
    body = request(records=[record(1)])
    mine = _post(api, body, "shared-name").json()
    admins = api.post(
        "/v1/checks", role="admin", json=body, headers={"Idempotency-Key": "shared-name"}
    )
    assert admins.json()["decision_id"] != mine["decision_id"]


def test_a_bad_key_is_400(api: Api) -> None:
    assert _post(api, request(), "has space").status_code == 400
    assert _post(api, request(), "x" * 201).status_code == 400
    assert api.registry.verify().entries == 0


def test_copies_racing_each_other_are_decided_once(loaded: Registry) -> None:
    import asyncio

    async def burst() -> list[str]:
        key = ("system:irs-itin-address", "race-1")
        copies = [
            loaded.check_async(request(records=[record(1)]), idempotency_key=key) for _ in range(12)
        ]
        return [d.decision_id for d in await asyncio.gather(*copies)]

    ids = asyncio.run(burst())
    assert len(set(ids)) == 1
    assert loaded.verify().entries == 1


def test_a_batch_with_two_copies_logs_one(loaded: Registry) -> None:
    one = decode_request(request(records=[record(1)]))
    key = ("token:x", "k", "d" * 64)
    decided = loaded.checking.check_batch([one, one], keys=[key, key])
    assert decided[0].decision_id == decided[1].decision_id
    again = loaded.checking.check_batch([one], keys=[key])
    assert again[0].decision_id == decided[0].decision_id
    assert loaded.verify().entries == 1
    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # and a plain check still works
        assert pool.submit(loaded.check, request()).result().decision_id


@pytest.mark.parametrize("where", ["logged", "in-batch"])
def test_a_key_conflict_in_a_batch_fails_that_check_alone_and_the_rest_commit_together(
    loaded: Registry, where: str
) -> None:
    key = ("token:x", "k", "d" * 64)
    first = decode_request(request(records=[record(1)]))
    if where == "logged":
        loaded.checking.check_batch([first], keys=[key])
    others = [decode_request(request(records=[record(i)])) for i in range(2, 7)]
    reused = decode_request(request(records=[record(9)]))  # another request, same key
    asks = [*others[:2], reused, *others[2:]]
    keys: list[Any] = [None, None, ("token:x", "k", "e" * 64), None, None, None]
    if where == "in-batch":
        asks, keys = [first, *asks], [key, *keys]
    calls: list[int] = []

    def batch(requests: Any, given: Any) -> list[Decision]:
        calls.append(len(requests))
        return loaded.checking.check_batch(requests, keys=given)

    results = decide_all(batch, list(zip(asks, keys, strict=True)))
    conflict = results[keys.index(("token:x", "k", "e" * 64))]
    assert isinstance(conflict, Conflict) and "was used before" in str(conflict)
    decided = [r for r in results if isinstance(r, Decision)]
    assert len(decided) == len(asks) - 1 and all(d.allowed for d in decided)
    assert calls == [len(asks), len(asks) - 1]  # not one batch a check
    entries = 6 if where == "in-batch" else 1 + 5
    assert loaded.verify().entries == entries


def _stream(api: Api, records: list[dict[str, Any]], key: str | None) -> Any:
    lines = [msgspec.json.encode(request(records=None))]
    lines += [msgspec.json.encode(r) for r in records]
    headers = {"Content-Type": "application/x-ndjson"}
    if key:
        headers["Idempotency-Key"] = key
    return api.post("/v1/checks/records", role="system", content=b"\n".join(lines), headers=headers)


def test_a_stream_sent_again_under_its_key_gets_the_first_decision(api: Api) -> None:
    records = [record(i) for i in range(5)]
    first = _stream(api, records, "batch-0001")
    again = _stream(api, records, "batch-0001")
    assert first.status_code == again.status_code == 200
    assert first.json()["decision_id"] == again.json()["decision_id"]
    assert first.json()["allowed"] and again.json()["receipt"] == first.json()["receipt"]
    assert api.registry.verify().entries == 1
    assert api.registry.disclosure_summary()[0].people == 5


def test_a_stream_with_other_records_under_a_used_key_is_409(api: Api) -> None:
    _stream(api, [record(i) for i in range(5)], "batch-0002")
    other = _stream(api, [record(i) for i in range(6)], "batch-0002")
    assert other.status_code == 409 and "another request" in other.json()["detail"]
    without = _stream(api, [record(i) for i in range(6)], None)
    assert without.status_code == 200
    assert api.registry.verify().entries == 2


def test_a_key_of_a_check_is_not_taken_by_a_stream(api: Api) -> None:
    """The same key for a check and then a stream of the same records: another request."""
    _post(api, request(records=[record(1)]), "shared-0003")
    assert _stream(api, [record(1)], "shared-0003").status_code == 409


def test_streams_under_one_key_in_process(loaded: Registry) -> None:
    records = [record(i) for i in range(3)]
    key = ("system:irs-itin-address", "in-process-0004")
    first = loaded.check_stream(request(), iter(records), idempotency_key=key)
    again = loaded.check_stream(request(), iter(records), idempotency_key=key)
    assert first.decision_id == again.decision_id and loaded.verify().entries == 1
