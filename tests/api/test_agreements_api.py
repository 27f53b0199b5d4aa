"""/v1/agreements and /v1/parties: read with filters, create and amend with optimistic
concurrency, refuse bad documents with their problems, change status, add parties."""

from __future__ import annotations

import datetime
import tomllib
from typing import Any

import pytest
import tomli_w

from tests.api.conftest import Api
from tests.conftest import AGREEMENTS

ICE = "irs-ice-2025-mou"
ICE_TOML = (AGREEMENTS / f"{ICE}.toml").read_bytes()
TOML = {"Content-Type": "application/toml"}


def ice(**changes: Any) -> bytes:
    """The shipped ICE memorandum as TOML, with top-level keys replaced."""
    data = tomllib.loads(ICE_TOML.decode())
    data.update(changes)
    return tomli_w.dumps(data).encode()


def with_limit(per_request: int, **changes: Any) -> bytes:
    data = tomllib.loads(ice(**changes).decode())
    data["limits"]["max_records_per_request"] = per_request
    return tomli_w.dumps(data).encode()


def ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return sorted(row["id"] for row in response.json())


def change(api: Api, agreement: str, action: str, on: str, role: str = "legal") -> Any:
    return api.post(
        f"/v1/agreements/{agreement}/{action}", role, json={"on": on, "reason": f"{action} test"}
    )


# --- reading ---------------------------------------------------------------------------


def test_list_filters_by_party(api: Api) -> None:
    assert ids(api.get("/v1/agreements", params={"party": "dhs-ice"})) == [ICE]
    assert ids(api.get("/v1/agreements", params={"party": "pa-dhs"})) == [
        "ssa-state-dhs-cma",
        "ssa-state-dhs-cma-2026",
    ]
    assert ids(api.get("/v1/agreements", params={"party": "irs"})) == [
        ICE,
        "irs-state-revenue-6103d",
        "irs-usao-edva-6103i2",
    ]
    assert ids(api.get("/v1/agreements", params={"party": "nobody"})) == []


def test_list_filters_by_expiry_from_the_day_given(api: Api) -> None:
    # The matching agreement expires 2025-09-30 but its Privacy Act renewal runs its term
    # to 2026-09-30: it ends then, as the expiring list says, not in 200 days.
    within = {"on": "2025-06-01", "expiring_within": "200"}
    assert ids(api.get("/v1/agreements", params=within)) == []
    renewal = {"on": "2026-06-01", "expiring_within": "200"}
    rows = api.get("/v1/agreements", params=renewal).json()
    cma = [r for r in rows if r["id"] == "ssa-state-dhs-cma"]
    assert cma and (cma[0]["expires"], cma[0]["term_end"]) == ("2025-09-30", "2026-09-30")
    later = {"on": "2027-01-01", "expiring_within": "100"}
    assert ids(api.get("/v1/agreements", params=later)) == [ICE]


def test_the_list_and_the_expiring_list_agree_on_what_expires(api: Api) -> None:
    for day, days in (("2025-06-01", 200), ("2026-06-01", 200), ("2027-01-01", 100)):
        listed = ids(api.get("/v1/agreements", params={"on": day, "expiring_within": days}))
        expiring = api.get("/v1/expiring", "reviewer", params={"as_of": day, "within": days})
        last = (datetime.date.fromisoformat(day) + datetime.timedelta(days=days)).isoformat()
        ending = sorted(r["agreement"] for r in expiring.json() if day <= r["expires"] <= last)
        assert listed == ending, day


def test_list_filters_by_status_on_a_day(api: Api) -> None:
    assert change(api, ICE, "suspend", "2025-05-01").status_code == 200
    suspended = {"status": "suspended", "on": "2025-06-01"}
    assert ids(api.get("/v1/agreements", params=suspended)) == [ICE]
    before = {"status": "suspended", "on": "2025-04-30"}
    assert ids(api.get("/v1/agreements", params=before)) == []
    active = ids(api.get("/v1/agreements", params={"status": "active", "on": "2025-06-01"}))
    assert ICE not in active and "irs-state-revenue-6103d" in active
    rows = api.get("/v1/agreements", params={"on": "2025-06-01"}).json()
    assert {r["status_on"] for r in rows} == {"2025-06-01"}


def test_show_gives_the_current_version_as_etag(api: Api) -> None:
    shown = api.get(f"/v1/agreements/{ICE}", "reviewer")
    assert shown.status_code == 200
    assert shown.headers["etag"] == '"1"'
    body = shown.json()
    assert body["agreement"]["id"] == ICE and body["current_version"] == 1
    assert body["info"]["version"] == 1


def test_show_unknown_agreement_is_404(api: Api) -> None:
    shown = api.get("/v1/agreements/no-such-agreement")
    assert shown.status_code == 404
    assert shown.json() == {"status_code": 404, "detail": "no agreement 'no-such-agreement'"}


# --- creating and amending ------------------------------------------------------------


def test_put_creates_from_toml_with_201(api: Api) -> None:
    created = api.put("/v1/agreements/ice-copy", "legal", content=ice(id="ice-copy"), headers=TOML)
    assert created.status_code == 201, created.text
    assert created.headers["etag"] == '"1"'
    assert created.json() == {
        "kind": "agreement",
        "id": "ice-copy",
        "action": "created",
        "version": 1,
        "source": "PUT /v1/agreements/ice-copy",
    }
    assert api.get("/v1/agreements/ice-copy").json()["agreement"]["title"]


def test_put_takes_json_too(api: Api) -> None:
    data = tomllib.loads(ice(id="ice-json").decode())
    created = api.put("/v1/agreements/ice-json", json=_jsonable(data))
    assert created.status_code == 201, created.text
    assert api.get("/v1/agreements/ice-json").json()["current_version"] == 1


def test_amend_with_if_match_gives_200_and_a_new_version(api: Api) -> None:
    amended = api.put(
        f"/v1/agreements/{ICE}", content=with_limit(1), headers={**TOML, "If-Match": '"1"'}
    )
    assert amended.status_code == 200, amended.text
    assert amended.headers["etag"] == '"2"'
    assert amended.json()["action"] == "amended" and amended.json()["version"] == 2
    assert [v["version"] for v in api.get(f"/v1/agreements/{ICE}/versions").json()] == [1, 2]
    diff = api.get(f"/v1/agreements/{ICE}/diff").json()
    assert (diff["from_version"], diff["to_version"]) == (1, 2)
    assert [c["summary"] for c in diff["changes"]] == [
        "Records per request (limit) changed from 2500 to 1"
    ]
    first = api.get(f"/v1/agreements/{ICE}", params={"version": "1"})
    assert first.json()["info"]["version"] == 1 and first.headers["etag"] == '"2"'


def test_diff_between_versions_given(api: Api) -> None:
    for version, limit in ((1, 5), (2, 7)):
        headers = {**TOML, "If-Match": f'"{version}"'}
        amended = api.put(f"/v1/agreements/{ICE}", content=with_limit(limit), headers=headers)
        assert amended.status_code == 200, amended.text
    diff = api.get(f"/v1/agreements/{ICE}/diff", params={"from": "1", "to": "3"}).json()
    assert [c["summary"] for c in diff["changes"]] == [
        "Records per request (limit) changed from 2500 to 7"
    ]
    assert api.get(f"/v1/agreements/{ICE}/diff", params={"to": "9"}).status_code == 404


def test_history_names_the_token_that_made_each_change(api: Api) -> None:
    headers = {**TOML, "If-Match": '"1"'}
    amended = api.put(f"/v1/agreements/{ICE}", "legal", content=with_limit(3), headers=headers)
    assert amended.status_code == 200
    assert change(api, ICE, "suspend", "2026-01-01", role="admin").status_code == 200
    history = api.get(f"/v1/agreements/{ICE}/history", "auditor").json()
    assert [(h["kind"], h.get("version"), h.get("status")) for h in history] == [
        ("version", 1, None),
        ("version", 2, None),
        ("status", None, "suspended"),
    ]
    assert history[1]["recorded_by"].startswith("test legal (token ")
    assert history[1]["recorded_by"].endswith(", legal)")
    assert history[2]["recorded_by"].startswith("test admin (token ")
    assert history[1]["source"] == f"PUT /v1/agreements/{ICE}"


def test_stale_if_match_is_409_and_nothing_is_saved(api: Api) -> None:
    headers = {**TOML, "If-Match": '"1"'}
    assert api.put(f"/v1/agreements/{ICE}", content=with_limit(3), headers=headers).is_success
    stale = api.put(f"/v1/agreements/{ICE}", content=with_limit(4), headers=headers)
    assert stale.status_code == 409
    assert "someone else changed it" in stale.json()["detail"]
    assert len(api.get(f"/v1/agreements/{ICE}/versions").json()) == 2
    limits = api.get(f"/v1/agreements/{ICE}").json()["agreement"]["limits"]
    assert limits["max_records_per_request"] == 3


def test_amending_without_if_match_is_409(api: Api) -> None:
    refused = api.put(f"/v1/agreements/{ICE}", content=with_limit(3), headers=TOML)
    assert refused.status_code == 409
    assert "If-Match" in refused.json()["detail"]
    assert len(api.get(f"/v1/agreements/{ICE}/versions").json()) == 1


@pytest.mark.parametrize(
    "value",
    ["latest", "0", '"-1"', "\u00b2".encode("latin-1"), "9" * 5000],
    ids=["word", "zero", "negative", "superscript-two", "5000-digits"],
)
def test_a_malformed_if_match_is_400(api: Api, value: str | bytes) -> None:
    refused = api.put(
        f"/v1/agreements/{ICE}", content=with_limit(3), headers={**TOML, "If-Match": value}
    )
    assert refused.status_code == 400
    assert "If-Match" in refused.json()["detail"]
    assert len(api.get(f"/v1/agreements/{ICE}/versions").json()) == 1


def test_an_invalid_document_is_400_with_every_problem_and_nothing_saved(api: Api) -> None:
    document = b'id = "bad-mou"\ntitle = "Bad"\nkind = "mou2"\nreview_notice_days = "soon"\n'
    refused = api.put("/v1/agreements/bad-mou", content=document, headers=TOML)
    assert refused.status_code == 400
    body = refused.json()
    assert body["detail"] == "PUT /v1/agreements/bad-mou has errors; nothing was saved"
    assert body["field"] == "kind"
    problems = body["problems"]
    assert all(p["file"] == "PUT /v1/agreements/bad-mou" for p in problems)
    located = {p["field"]: p["line"] for p in problems if p["line"] is not None}
    assert located == {"kind": 3, "review_notice_days": 4}
    assert {"status", "effective", "expires", "discloser"} <= {p["field"] for p in problems}
    assert api.get("/v1/agreements/bad-mou").status_code == 404


def test_a_document_that_breaks_a_lint_rule_is_400_naming_the_field(api: Api) -> None:
    refused = api.put(
        "/v1/agreements/ice-copy",
        content=ice(id="ice-copy", recipients=["nobody-known"]),
        headers=TOML,
    )
    assert refused.status_code == 400
    problem = next(p for p in refused.json()["problems"] if p["field"] == "recipients[0]")
    assert problem["severity"] == "error" and problem["line"]
    assert api.get("/v1/agreements/ice-copy").status_code == 404


def test_a_document_for_another_id_than_the_url_is_400(api: Api) -> None:
    refused = api.put("/v1/agreements/other-id", content=ice(id="ice-copy"), headers=TOML)
    assert refused.status_code == 400
    assert refused.json()["field"] == "id"
    assert api.get("/v1/agreements/ice-copy").status_code == 404
    assert api.get("/v1/agreements/other-id").status_code == 404


def test_an_unknown_content_type_is_415_and_nothing_saved(api: Api) -> None:
    refused = api.put(
        "/v1/agreements/ice-copy", content=ice(id="ice-copy"), headers={"Content-Type": "text/csv"}
    )
    assert refused.status_code == 415
    assert "application/toml" in refused.json()["detail"]
    assert api.get("/v1/agreements/ice-copy").status_code == 404


# --- status -------------------------------------------------------------------------------


def test_suspend_and_reinstate_change_the_status_from_their_dates(api: Api) -> None:
    suspended = change(api, ICE, "suspend", "2025-06-01")
    assert suspended.status_code == 200, suspended.text
    assert suspended.json()["status"] == "suspended"
    assert suspended.json()["recorded_by"].startswith("test legal")
    assert change(api, ICE, "reinstate", "2025-07-01").status_code == 200

    def status(day: str) -> str:
        shown = api.get(f"/v1/agreements/{ICE}", params={"on": day}).json()
        return str(shown["status"])

    assert [status(d) for d in ("2025-05-31", "2025-06-15", "2025-07-02")] == [
        "active",
        "suspended",
        "active",
    ]


def test_termination_is_final(api: Api) -> None:
    terminated = change(api, ICE, "terminate", "2025-08-01")
    assert terminated.status_code == 200, terminated.text
    for action in ("reinstate", "suspend", "terminate"):
        refused = change(api, ICE, action, "2025-09-01")
        assert refused.status_code == 409, action
        assert "termination is final" in refused.json()["detail"]
    amended = api.put(
        f"/v1/agreements/{ICE}", content=with_limit(3), headers={**TOML, "If-Match": '"1"'}
    )
    assert amended.status_code == 409
    assert len(api.get(f"/v1/agreements/{ICE}/history").json()) == 2


def test_reinstating_an_active_agreement_is_409(api: Api) -> None:
    refused = change(api, ICE, "reinstate", "2025-06-01")
    assert refused.status_code == 409
    assert "its status that day is active" in refused.json()["detail"]


def test_status_change_of_an_unknown_agreement_is_404(api: Api) -> None:
    assert change(api, "no-such-agreement", "suspend", "2025-06-01").status_code == 404


def test_status_change_needs_a_date_and_a_reason(api: Api) -> None:
    refused = api.post(f"/v1/agreements/{ICE}/suspend", json={"on": "2025-06-01"})
    assert refused.status_code == 400
    assert refused.json()["field"] == "reason"
    assert len(api.get(f"/v1/agreements/{ICE}/history").json()) == 1


# --- parties ----------------------------------------------------------------------------


def test_post_parties_creates_and_amends(api: Api) -> None:
    new = {"party": [{"id": "doj", "name": "Department of Justice", "address": "950 Penn Ave"}]}
    created = api.post("/v1/parties", "legal", content=tomli_w.dumps(new).encode(), headers=TOML)
    assert created.status_code == 200, created.text
    assert [(o["id"], o["action"]) for o in created.json()] == [("doj", "created")]
    parties = {p["id"]: p for p in api.get("/v1/parties").json()}
    assert parties["doj"]["address"] == "950 Penn Ave"

    new["party"][0]["address"] = "950 Pennsylvania Ave NW, Washington, DC 20530"
    amended = api.post("/v1/parties", json=new)
    assert [(o["id"], o["action"]) for o in amended.json()] == [("doj", "amended")]
    again = api.post("/v1/parties", json=new)
    assert [(o["id"], o["action"]) for o in again.json()] == [("doj", "unchanged")]


def test_an_invalid_parties_file_is_400_and_saves_nothing(api: Api) -> None:
    bad = b'[[party]]\nid = "doj"\nname = "Department of Justice"\n\n[[party]]\nid = "X Y"\n'
    refused = api.post("/v1/parties", content=bad, headers=TOML)
    assert refused.status_code == 400
    assert refused.json()["problems"]
    assert "doj" not in {p["id"] for p in api.get("/v1/parties").json()}


def test_parties_sent_as_an_agreement_are_refused(api: Api) -> None:
    new = {"party": [{"id": "doj", "name": "Department of Justice", "address": "950 Penn Ave"}]}
    refused = api.put(f"/v1/agreements/{ICE}", json=new)
    assert refused.status_code == 400
    assert "doj" not in {p["id"] for p in api.get("/v1/parties").json()}


def _jsonable(value: Any) -> Any:
    import datetime

    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value
