"""Idempotency keys on checks: a check sent again with its key gets the first decision,
so retrying after a lost answer never logs a second allowed transfer."""

from __future__ import annotations

import concurrent.futures
from typing import Any

from registry.checking import decode_request
from registry.service import Registry
from tests.api.conftest import Api
from tests.checking.helpers import record, request


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
