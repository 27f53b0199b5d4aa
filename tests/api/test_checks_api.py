"""/v1/checks, /v1/checks/records, /v1/decisions, /v1/disclosures and /metrics: checks
over HTTP are decided and recorded as in-process ones, a system token speaks only for its
own data system, and a bad upload records nothing."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable
from typing import Any

import pytest
import tomli_w

from tests.api.conftest import ROUTES, SYSTEM, Api, post_in_chunks
from tests.checking.helpers import AGREEMENT, record, request
from tests.conftest import AGREEMENTS


@pytest.fixture(params=ROUTES)
def route(request: pytest.FixtureRequest) -> str:
    """Every test here runs with checks through the litestar route and the short way."""
    return str(request.param)


NDJSON = {"Content-Type": "application/x-ndjson"}
OTHER_SYSTEM = "ssa-wage-records"  # the "other_system" token's


def ndjson(first: dict[str, Any], records: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(line).encode() + b"\n" for line in [first, *records])


class Upload:
    """The answer to an upload sent straight to the application, chunk by chunk, as a
    server such as uvicorn hands it over (the test client would join the chunks)."""

    def __init__(self, status: int, body: bytes) -> None:
        self.status_code, self.body = status, body

    def json(self) -> Any:
        return json.loads(self.body)


def upload(api: Api, chunks: Iterable[bytes], *, role: str = "system", ends: bool = True) -> Upload:
    """POST /v1/checks/records in ``chunks``; without ``ends`` the client goes away after
    the last one."""
    headers = [
        (b"authorization", api.headers(role)["Authorization"].encode()),
        (b"content-type", b"application/x-ndjson"),
    ]
    return Upload(*post_in_chunks(api, "/v1/checks/records", chunks, headers, ends))


def in_chunks(body: bytes, size: int = 65_000) -> list[bytes]:
    """The body in chunks that cut lines in two."""
    return [body[start : start + size] for start in range(0, len(body), size)]


def decisions(api: Api) -> list[dict[str, Any]]:
    listed = api.get("/v1/decisions", "auditor", params={"limit": "10000"})
    assert listed.status_code == 200
    return list(listed.json())


def add_bulk_agreement(api: Api, agreement: str = "ice-bulk") -> None:
    """A copy of the ICE memorandum whose limits allow large transfers."""
    data = tomllib.loads((AGREEMENTS / f"{AGREEMENT}.toml").read_text())
    data["id"] = agreement
    data["limits"] = {
        "max_records_per_request": 100_000,
        "max_records_per_period": 1_000_000,
        "period_days": 30,
    }
    created = api.put(
        f"/v1/agreements/{agreement}",
        content=tomli_w.dumps(data).encode(),
        headers={"Content-Type": "application/toml"},
    )
    assert created.status_code == 201, created.text


# --- one request ------------------------------------------------------------------------


def test_an_allowed_check_is_recorded_with_its_receipt(api: Api) -> None:
    answer = api.post("/v1/checks", "system", json=request(records=[record(1), record(2)]))
    assert answer.status_code == 200, answer.text
    decision = answer.json()
    assert decision["allowed"] is True and decision["reasons"] == []
    assert (decision["agreement"], decision["agreement_version"]) == (AGREEMENT, 1)
    assert decision["record_count"] == 2 and decision["source_system"] == SYSTEM
    if "receipt" in decision:
        assert isinstance(decision["receipt"], str) and decision["receipt"]
    logged = api.get(f"/v1/decisions/{decision['decision_id']}", "auditor").json()
    assert (logged["decision_id"], logged["allowed"]) == (decision["decision_id"], True)
    assert [d["decision_id"] for d in decisions(api)] == [decision["decision_id"]]


def test_a_denied_check_gives_every_reason_and_is_recorded(api: Api) -> None:
    zip_only = record(2, taxpayer={"name": "Person 2", "tin": "100000002", "address": "62701"})
    denied = api.post(
        "/v1/checks",
        "system",
        json=request(
            fields=["taxpayer.name", "taxpayer.address", "taxpayer.dob", "return.wages"],
            records=[record(1), zip_only],
        ),
    )
    assert denied.status_code == 200, denied.text
    decision = denied.json()
    assert decision["allowed"] is False
    assert "receipt" not in decision or decision["receipt"] is None
    reasons = {r["code"]: r for r in decision["reasons"]}
    assert {"field_prohibited", "field_not_permitted", "irc6103.address_incomplete"} <= set(reasons)
    assert reasons["irc6103.address_incomplete"]["records"] == [1]
    assert [d["allowed"] for d in decisions(api)] == [False]
    summary = api.get("/v1/disclosures/summary", "auditor").json()
    assert summary == []


def test_an_admin_token_may_check_for_any_system(api: Api) -> None:
    answer = api.post("/v1/checks", "admin", json=request(records=[record(1)]))
    assert answer.status_code == 200 and answer.json()["allowed"] is True


def test_a_system_token_checking_for_another_system_is_403_and_nothing_recorded(
    api: Api,
) -> None:
    refused = api.post("/v1/checks", "other_system", json=request(records=[record(1)]))
    assert refused.status_code == 403
    assert refused.json()["detail"] == (
        f"this token speaks for system '{OTHER_SYSTEM}', not '{SYSTEM}'"
    )
    refused = api.post(
        "/v1/checks", "system", json=request(source_system=OTHER_SYSTEM, records=[record(1)])
    )
    assert refused.status_code == 403
    streamed = api.post(
        "/v1/checks/records",
        "other_system",
        content=ndjson(request(), [record(1)]),
        headers=NDJSON,
    )
    assert streamed.status_code == 403
    assert decisions(api) == []
    assert api.get("/v1/disclosures/summary", "auditor").json() == []


# --- a stream of records ----------------------------------------------------------------


def test_a_stream_of_20000_records_is_allowed_and_accounted(api: Api) -> None:
    add_bulk_agreement(api)
    body = ndjson(request(agreement="ice-bulk"), [record(i) for i in range(20_000)])
    answer = upload(api, in_chunks(body))
    assert answer.status_code == 200, answer.body
    decision = answer.json()
    assert decision["allowed"] is True, decision["reasons"]
    assert (decision["agreement"], decision["record_count"]) == ("ice-bulk", 20_000)
    if "receipt" in decision:
        assert isinstance(decision["receipt"], str) and decision["receipt"]
    summary = api.get("/v1/disclosures/summary", "auditor").json()
    assert [(s["agreement"], s["records"], s["people"]) for s in summary] == [
        ("ice-bulk", 20_000, 20_000)
    ]


def test_a_stream_with_one_bad_record_is_denied_naming_its_index(api: Api) -> None:
    add_bulk_agreement(api)
    records = [record(i) for i in range(5_000)]
    records[4_321]["taxpayer"]["address"] = {"zip": "62701"}
    body = ndjson(request(agreement="ice-bulk"), records)
    answer = upload(api, in_chunks(body))
    assert answer.status_code == 200, answer.body
    decision = answer.json()
    assert decision["allowed"] is False
    assert [(r["code"], r["records"]) for r in decision["reasons"]] == [
        ("irc6103.address_incomplete", [4_321])
    ]
    assert decision["record_count"] == 5_000
    assert api.get("/v1/disclosures/summary", "auditor").json() == []


@pytest.mark.parametrize("chunked", [False, True], ids=["one-chunk", "chunked"])
def test_a_bad_json_line_is_400_naming_the_line_and_nothing_recorded(
    api: Api, chunked: bool
) -> None:
    lines = [json.dumps(record(i)).encode() for i in range(3_000)]
    lines[2_499] = b'{"taxpayer": {"name": "Person 2499"'  # the 2,500th record line
    body = json.dumps(request()).encode() + b"\n" + b"\n".join(lines) + b"\n"
    if chunked:
        answer: Any = upload(api, in_chunks(body, 4_096))
    else:
        answer = api.post("/v1/checks/records", "system", content=body, headers=NDJSON)
    assert answer.status_code == 400
    error = answer.json()
    assert error["detail"].startswith("records:2500: not JSON")
    assert [(p["file"], p["line"]) for p in error["problems"]] == [("records", 2500)]
    assert decisions(api) == []


def test_a_stream_whose_line_is_not_an_object_is_400(api: Api) -> None:
    body = ndjson(request(), [record(1)]) + b"[1, 2]\n"
    answer = api.post("/v1/checks/records", "system", content=body, headers=NDJSON)
    assert answer.status_code == 400
    assert answer.json()["detail"].startswith("records:2: each line must be a JSON object")
    assert decisions(api) == []


def test_a_stream_whose_first_line_is_not_a_request_is_400(api: Api) -> None:
    for body in (b"", b"\n" + json.dumps(request()).encode()):
        answer = api.post("/v1/checks/records", "system", content=body, headers=NDJSON)
        assert answer.status_code == 400
        assert answer.json()["detail"] == "the first line must be the check request, as JSON"
    bad = ndjson(request(recipient=7), [record(1)])
    answer = api.post("/v1/checks/records", "system", content=bad, headers=NDJSON)
    assert answer.status_code == 400 and answer.json()["field"] == "recipient"
    assert decisions(api) == []


def test_a_stream_with_records_in_the_request_too_is_400(api: Api) -> None:
    body = ndjson(request(records=[record(1)]), [record(2)])
    answer = api.post("/v1/checks/records", "system", content=body, headers=NDJSON)
    assert answer.status_code == 400
    assert decisions(api) == []


def test_an_upload_that_breaks_off_decides_nothing(api: Api) -> None:
    """The client goes away after two chunks: a 400 (to nobody), nothing recorded."""
    body = ndjson(request(), [record(i) for i in range(500)])
    answer = upload(api, in_chunks(body, 8_192)[:2], ends=False)
    assert answer.status_code == 400
    assert "broke off" in answer.json()["detail"]
    assert decisions(api) == []


# --- cancelling -------------------------------------------------------------------------


def _allowed(api: Api, role: str = "system", **changes: Any) -> str:
    answer = api.post("/v1/checks", role, json=request(records=[record(1)], **changes))
    assert answer.status_code == 200 and answer.json()["allowed"], answer.text
    return str(answer.json()["decision_id"])


def test_a_system_cancels_its_own_decision_and_releases_it(api: Api) -> None:
    decision = _allowed(api)
    cancelled = api.post(
        f"/v1/decisions/{decision}/cancel", "system", json={"reason": "export failed"}
    )
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["cancelled"] is True
    assert api.get(f"/v1/decisions/{decision}", "auditor").json()["cancelled"] is True
    assert api.get("/v1/disclosures/summary", "auditor").json() == []
    again = api.post(f"/v1/decisions/{decision}/cancel", "system", json={"reason": "twice"})
    assert again.status_code == 409


def test_another_systems_token_cannot_see_or_cancel_a_decision(api: Api) -> None:
    decision = _allowed(api)
    for path, body in (
        (f"/v1/decisions/{decision}/cancel", {"reason": "not mine"}),
        (f"/v1/decisions/{decision}", None),
    ):
        answer = (
            api.post(path, "other_system", json=body) if body else api.get(path, "other_system")
        )
        assert answer.status_code == 404
        assert answer.json()["detail"] == f"no decision '{decision}'"
    assert "cancelled" not in api.get(f"/v1/decisions/{decision}", "auditor").json()


def test_only_checkers_cancel(api: Api) -> None:
    decision = _allowed(api)
    for role in ("legal", "reviewer", "auditor"):
        answer = api.post(f"/v1/decisions/{decision}/cancel", role, json={"reason": "no"})
        assert answer.status_code == 403, role
    admin = api.post(f"/v1/decisions/{decision}/cancel", "admin", json={"reason": "by admin"})
    assert admin.status_code == 200


def test_cancelling_a_denial_or_an_unknown_decision(api: Api) -> None:
    denied = api.post("/v1/checks", "system", json=request(purpose="tax-administration"))
    decision = denied.json()["decision_id"]
    refused = api.post(f"/v1/decisions/{decision}/cancel", "system", json={"reason": "no"})
    assert refused.status_code == 409
    unknown = api.post("/v1/decisions/no-such-id/cancel", "system", json={"reason": "no"})
    assert unknown.status_code == 404
    no_reason = api.post(f"/v1/decisions/{decision}/cancel", "system", json={})
    assert no_reason.status_code == 400 and no_reason.json()["field"] == "reason"


# --- the log ----------------------------------------------------------------------------


def test_a_system_token_lists_only_its_own_systems_decisions(api: Api) -> None:
    mine = _allowed(api)
    theirs = api.post("/v1/checks", "admin", json=request(source_system=OTHER_SYSTEM))
    assert theirs.status_code == 200
    listed = api.get("/v1/decisions", "system").json()
    assert [d["decision_id"] for d in listed] == [mine]
    listed = api.get("/v1/decisions", "other_system").json()
    assert [d["decision_id"] for d in listed] == [theirs.json()["decision_id"]]
    assert len(api.get("/v1/decisions", "auditor").json()) == 2


def test_decisions_filter_by_outcome_and_agreement(api: Api) -> None:
    allowed = _allowed(api)
    api.post("/v1/checks", "system", json=request(purpose="tax-administration"))
    only = api.get("/v1/decisions", "auditor", params={"allowed": "true"}).json()
    assert [d["decision_id"] for d in only] == [allowed]
    assert len(api.get("/v1/decisions", params={"agreement": AGREEMENT}).json()) == 2
    assert api.get("/v1/decisions", params={"agreement": "irs-state-revenue-6103d"}).json() == []


def test_verify_walks_the_whole_log(api: Api) -> None:
    decision = _allowed(api)
    api.post("/v1/checks", "system", json=request(purpose="tax-administration"))
    api.post(f"/v1/decisions/{decision}/cancel", "system", json={"reason": "export failed"})
    verified = api.get("/v1/decisions/verify", "auditor")
    assert verified.status_code == 200
    assert verified.json()["ok"] is True and verified.json()["entries"] == 3


# --- the accounting and the metrics -------------------------------------------------------


def test_disclosures_about_a_person_are_found_by_the_identifier_in_a_body(api: Api) -> None:
    decision = _allowed(api)
    found = api.post("/v1/disclosures/search", "auditor", json={"subject": "100000001"})
    assert found.status_code == 200, found.text
    [entry] = found.json()
    assert entry["decision_id"] == decision and entry["recipient"] == "dhs-ice"
    assert entry["recipient_name"].startswith("U.S. Immigration and Customs Enforcement")
    assert entry["recipient_address"] == "500 12th St SW, Washington, DC 20536"
    assert "8 U.S.C. 1253(a)(1)" in entry["authority"]
    nobody = api.post("/v1/disclosures/search", "auditor", json={"subject": "999999999"})
    assert nobody.json() == []
    listed = api.get("/v1/disclosures", "auditor", params={"agreement": AGREEMENT}).json()
    assert [e["decision_id"] for e in listed] == [decision]


def test_the_disclosure_summary_counts_transfers_records_and_people(api: Api) -> None:
    _allowed(api)
    api.post("/v1/checks", "system", json=request(records=[record(1), record(2)]))
    summary = api.get("/v1/disclosures/summary", "auditor").json()
    assert [(s["agreement"], s["transfers"], s["records"], s["people"]) for s in summary] == [
        (AGREEMENT, 2, 3, 2)
    ]


def test_metrics_count_decisions_by_outcome(api: Api) -> None:
    _allowed(api)
    _allowed(api)
    api.post("/v1/checks", "system", json=request(purpose="tax-administration"))
    api.post("/v1/checks/records", "system", content=ndjson(request(), [record(1)]))
    shown = api.get("/metrics", "auditor")
    assert shown.status_code == 200
    assert shown.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    text = shown.text
    assert 'registry_decisions_total{outcome="allowed"} 3.0' in text
    assert 'registry_decisions_total{outcome="denied"} 1.0' in text
    assert 'registry_denial_reasons_total{code="purpose_not_permitted"} 1.0' in text
    assert 'registry_check_seconds_count{kind="stream"} 1.0' in text


def test_a_large_check_body_is_decided(api: Api) -> None:
    # Over 256 KiB: decoded on a worker thread rather than the event loop.
    big = request(records=[record(i) for i in range(2000)], record_count=None)
    answer = api.post("/v1/checks", role="system", json=big)
    assert answer.status_code == 200, answer.text
    assert answer.json()["allowed"] and answer.json()["record_count"] == 2000
