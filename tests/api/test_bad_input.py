"""Bad input over HTTP: malformed JSON, wrong types, unknown or missing fields, bodies over
the limit, bad dates and unknown ids get a JSON 4xx naming the field, never a 5xx, and
nothing is recorded as allowed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from registry.app import create_app
from registry.errors import ConfigError
from registry.writer import MAX_FRAME
from tests.api.conftest import ROUTES, Api
from tests.checking.helpers import record, request

ICE = "irs-ice-2025-mou"


def allowed(api: Api) -> list[dict[str, Any]]:
    return list(api.get("/v1/decisions", "auditor", params={"allowed": "true"}).json())


def assert_error(answer: Any, status: int, field: str | None) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    body = answer.json()
    assert body["status_code"] == status and body["detail"]
    assert body.get("field") == field, body
    return dict(body)


def with_approval(**changes: Any) -> dict[str, Any]:
    return request(approvals=[{"role": "disclosure-officer", "by": "a.jones", **changes}])


# Check requests that are not valid input, and the field each 400 names.
INVALID_CHECKS: dict[str, tuple[Any, str | None]] = {
    "malformed JSON": (b'{"agreement": "irs-ice-2025-mou",', None),
    "not JSON at all": (b"agreement=irs-ice-2025-mou", None),
    "not UTF-8": (b'{"agreement": "\xff\xfe"}', None),
    "an empty body": (b"", None),
    "a list instead of an object": (b"[]", None),
    "null": (b"null", None),
    "a number where text goes": (request(recipient=7), "recipient"),
    "text where a number goes": (request(record_count="3"), "record_count"),
    "a negative record count": (request(record_count=-1), "record_count"),
    "a record count beyond any integer": (b'{"record_count": 1' + b"0" * 40 + b"}", "record_count"),
    "a string where a list goes": (request(fields="taxpayer.name"), "fields"),
    "a wrong type deep inside": (with_approval(by=7), "approvals[0].by"),
    "an unknown field": (request(recipeint="dhs-ice"), "recipeint"),
    "an unknown field deep inside": (with_approval(when="today"), "approvals[0].when"),
    "a missing field": (request(recipient=None), "recipient"),
    "a bad on date": (request(on="2025-02-30"), "on"),
    "an on date that is not a date": (request(on="next tuesday"), "on"),
    "records that are not objects": (request(records=[record(1), 5]), "records[1]"),
    "records nested too deeply": (
        b'{"records": [' + b'{"a": ' * 5_000 + b"1" + b"}" * 5_000 + b"]}",
        None,
    ),
}


@pytest.mark.parametrize("route", ROUTES)  # through the litestar route and the short way
@pytest.mark.parametrize("case", list(INVALID_CHECKS))
def test_an_invalid_check_is_400_naming_the_field_and_records_nothing(api: Api, case: str) -> None:
    body, field = INVALID_CHECKS[case]
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    answer = api.post("/v1/checks", "system", content=content)
    error = assert_error(answer, 400, field)
    if field is not None:
        assert error["problems"][0]["field"] == field
    assert api.get("/v1/decisions", "auditor").json() == []


def test_an_invalid_request_line_of_a_stream_is_400_naming_the_field(api: Api) -> None:
    for body, field in ((request(on="2025-13-01"), "on"), (request(extra=1), "extra")):
        content = json.dumps(body).encode() + b"\n" + json.dumps(record(1)).encode() + b"\n"
        answer = api.post("/v1/checks/records", "system", content=content)
        assert_error(answer, 400, field)
    assert api.get("/v1/decisions", "auditor").json() == []


def test_an_unknown_agreement_is_a_recorded_denial_naming_the_field(api: Api) -> None:
    answer = api.post("/v1/checks", "system", json=request(agreement="no-such-mou"))
    assert answer.status_code == 200
    decision = answer.json()
    assert decision["allowed"] is False
    assert [(r["code"], r.get("field")) for r in decision["reasons"]] == [
        ("agreement_not_found", "agreement")
    ]
    assert allowed(api) == []


@pytest.mark.parametrize(
    ("path", "detail"),
    [
        ("/v1/agreements/no-such-mou", "no agreement 'no-such-mou'"),
        ("/v1/agreements/no-such-mou/versions", "no agreement 'no-such-mou'"),
        ("/v1/agreements/no-such-mou/history", "no agreement 'no-such-mou'"),
        ("/v1/agreements/no-such-mou/diff", "no agreement 'no-such-mou'"),
        (f"/v1/agreements/{ICE}?version=9", None),
        ("/v1/decisions/no-such-decision", "no decision 'no-such-decision'"),
        ("/v1/no-such-route", "Not Found"),
    ],
)
def test_unknown_ids_are_json_404s(api: Api, path: str, detail: str | None) -> None:
    body = assert_error(api.get(path), 404, None)
    if detail is not None:
        assert body["detail"] == detail


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/v1/agreements", {"on": "2025-13-01"}, "on"),
        ("/v1/agreements", {"status": "paused"}, "status"),
        ("/v1/agreements", {"expiring_within": "-1"}, "expiring_within"),
        ("/v1/agreements", {"expiring_within": "soon"}, "expiring_within"),
        (f"/v1/agreements/{ICE}", {"on": "yesterday"}, "on"),
        (f"/v1/agreements/{ICE}", {"version": "0"}, "version"),
        (f"/v1/agreements/{ICE}/diff", {"from": "one"}, "from"),
        ("/v1/expiring", {"as_of": "2025-02-30"}, "as_of"),
        ("/v1/expiring", {"within": "99999999999999999999"}, "within"),
        ("/v1/decisions", {"since": "2025-1-1"}, "since"),
        ("/v1/decisions", {"allowed": "maybe"}, "allowed"),
        ("/v1/decisions", {"limit": "0"}, "limit"),
        ("/v1/disclosures", {"limit": "many"}, "limit"),
    ],
)
def test_a_bad_query_parameter_is_400_naming_it(
    api: Api, path: str, params: dict[str, str], field: str
) -> None:
    assert_error(api.get(path, params=params), 400, field)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (f"/v1/agreements/{ICE}/suspend", {"on": "2025-02-30", "reason": "x"}, "on"),
        (f"/v1/agreements/{ICE}/suspend", {"on": "2025-06-01"}, "reason"),
        (f"/v1/agreements/{ICE}/suspend", {"on": "2025-06-01", "reason": ""}, "reason"),
        (f"/v1/agreements/{ICE}/terminate", {"on": "2025-06-01", "reason": 5}, "reason"),
        (f"/v1/agreements/{ICE}/reinstate", {"on": "2025-06-01", "why": "x"}, "why"),
        ("/v1/decisions/some-id/cancel", {"reason": ["x"]}, "reason"),
        ("/v1/decisions/some-id/cancel", {"because": "x"}, "because"),
        ("/v1/disclosures/search", {"subject": 123456789}, "subject"),
        ("/v1/disclosures/search", {}, "subject"),
    ],
)
def test_a_bad_body_is_400_naming_the_field(
    api: Api, path: str, body: dict[str, Any], field: str
) -> None:
    assert_error(api.post(path, json=body), 400, field)
    assert len(api.get(f"/v1/agreements/{ICE}/history").json()) == 1


def test_a_malformed_body_is_400_everywhere(api: Api) -> None:
    for path in (
        f"/v1/agreements/{ICE}/suspend",
        "/v1/decisions/some-id/cancel",
        "/v1/disclosures/search",
    ):
        assert_error(api.post(path, content=b"{'on': 1}"), 400, None)
    for path, method in ((f"/v1/agreements/{ICE}", api.put), ("/v1/parties", api.post)):
        for media in ("application/json", "application/toml", "application/yaml"):
            answer = method(path, content=b"{[: \x00", headers={"Content-Type": media})
            assert answer.status_code == 400, (path, media, answer.text)
            assert answer.json()["problems"]


# --- bodies over the limit -------------------------------------------------------------


@pytest.fixture
def small(api: Api) -> Iterator[TestClient[Any]]:
    """The same registry behind an app that takes bodies of at most 2 KiB."""
    with TestClient(create_app(api.registry, max_body_bytes=2048)) as client:
        yield client


def test_a_body_over_the_limit_is_413_and_records_nothing(api: Api, small: Any) -> None:
    big = request(records=[record(i) for i in range(50)])
    answer = small.post("/v1/checks", headers=api.headers("system"), json=big)
    assert_error(answer, 413, None)
    document = b"# " + b"x" * 4096 + b"\n"
    answer = small.put(
        "/v1/agreements/new-mou",
        headers=api.headers("admin", **{"Content-Type": "application/toml"}),
        content=document,
    )
    assert_error(answer, 413, None)
    answer = small.post(
        "/v1/disclosures/search", headers=api.headers("auditor"), json={"subject": "9" * 3000}
    )
    assert_error(answer, 413, None)
    assert api.get("/v1/decisions", "auditor").json() == []
    assert api.get("/v1/agreements/new-mou").status_code == 404


def test_a_body_under_the_limit_is_taken(api: Api, small: Any) -> None:
    answer = small.post("/v1/checks", headers=api.headers("system"), json=request())
    assert answer.status_code == 200


def test_the_stream_of_records_has_no_body_limit(api: Api, small: Any) -> None:
    lines = [json.dumps(request()).encode()] + [json.dumps(record(i)).encode() for i in range(100)]
    body = b"\n".join(lines) + b"\n"
    assert len(body) > 8 * 2048
    answer = small.post("/v1/checks/records", headers=api.headers("system"), content=body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["record_count"] == 100


def test_the_limit_comes_from_the_environment(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGISTRY_MAX_BODY_BYTES", "1024")
    with TestClient(create_app(api.registry)) as client:
        big = request(records=[record(i) for i in range(10)])
        assert client.post("/v1/checks", headers=api.headers("system"), json=big).status_code == 413
    monkeypatch.setenv("REGISTRY_MAX_BODY_BYTES", "16MiB")
    with pytest.raises(ConfigError, match="REGISTRY_MAX_BODY_BYTES"):
        create_app(api.registry)
    # A check's body goes to the writer in one frame, which has a size limit of its own.
    monkeypatch.setenv("REGISTRY_MAX_BODY_BYTES", str(MAX_FRAME))
    with pytest.raises(ConfigError, match="from 1024 to"):
        create_app(api.registry)


def test_bytes_that_are_not_utf8_are_400_everywhere(api: Api) -> None:
    not_utf8 = b'"\xff\xfe"'
    body = b'{"on": "2025-06-01", "reason": ' + not_utf8 + b"}"
    assert_error(api.post(f"/v1/agreements/{ICE}/suspend", content=body), 400, None)
    stream = json.dumps(request()).encode() + b'\n{"taxpayer": {"name": ' + not_utf8 + b"}}\n"
    assert_error(api.post("/v1/checks/records", "system", content=stream), 400, None)
    for media in ("application/json", "application/toml", "application/yaml"):
        answer = api.put(
            "/v1/agreements/new-mou", content=b"id = " + not_utf8, headers={"Content-Type": media}
        )
        assert answer.status_code == 400, (media, answer.text)
    assert api.get("/v1/decisions", "auditor").json() == []
    assert len(api.get(f"/v1/agreements/{ICE}/history").json()) == 1
