"""Reviews over HTTP: recorded by reviewers, legal staff or admins, listed, in the history,
and taking the agreement off the due-for-review list; bad input writes nothing."""

from __future__ import annotations

import pytest

from tests.api.conftest import Api

EDVA = "irs-usao-edva-6103i2"


def test_the_api_records_a_review_and_shows_it(api: Api) -> None:
    body = {
        "outcome": "renew",
        "note": "Fine.",
        "next_review": "2027-06-01",
        "reviewed_on": "2026-11-28",
    }
    made = api.post(f"/v1/agreements/{EDVA}/reviews", role="reviewer", json=body)
    assert made.status_code == 201, made.text
    assert "test reviewer" in made.json()["recorded_by"]
    listed = api.get(f"/v1/agreements/{EDVA}/reviews", role="auditor").json()
    assert [r["note"] for r in listed] == ["Fine."]
    history = api.get(f"/v1/agreements/{EDVA}/history", role="legal").json()
    assert [h["kind"] for h in history].count("review") == 1
    due = api.get("/v1/expiring?within=150&as_of=2026-11-28", role="reviewer").json()
    assert EDVA not in [r["agreement"] for r in due]


@pytest.mark.parametrize(
    ("role", "body", "status"),
    [
        ("auditor", {"outcome": "renew", "note": "x", "next_review": "2027-06-01"}, 403),
        ("system", {"outcome": "renew", "note": "x", "next_review": "2027-06-01"}, 403),
        ("reviewer", {"outcome": "renew", "note": "x", "next_review": "01/06/2027"}, 400),
        ("reviewer", {"outcome": "renew", "note": "x"}, 400),
        ("reviewer", {"outcome": "renew", "note": "x", "next_review": "2027-06-01", "x": 1}, 400),
    ],
)
def test_the_api_refuses_bad_reviews_and_writes_nothing(
    api: Api, role: str, body: dict[str, object], status: int
) -> None:
    answer = api.post(f"/v1/agreements/{EDVA}/reviews", role=role, json=body)
    assert answer.status_code == status, answer.text
    assert api.get(f"/v1/agreements/{EDVA}/reviews", role="auditor").json() == []


def test_the_api_answers_404_and_409(api: Api) -> None:
    body = {"outcome": "renew", "note": "x", "next_review": "2099-01-01"}
    assert api.post("/v1/agreements/nope/reviews", role="reviewer", json=body).status_code == 404
    api.post(
        f"/v1/agreements/{EDVA}/terminate", role="legal", json={"on": "2026-01-01", "reason": "x"}
    )
    assert api.post(f"/v1/agreements/{EDVA}/reviews", role="reviewer", json=body).status_code == 409
