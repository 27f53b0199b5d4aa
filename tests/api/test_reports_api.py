"""The auditors' report over HTTP: JSON with the tamper check, and CSV with its result in a
header."""

from __future__ import annotations

import csv
import io

from tests.api.conftest import Api
from tests.checking.helpers import record, request


def test_auditors_get_the_report_and_its_csv(api: Api) -> None:
    assert api.post("/v1/checks", role="system", json=request(records=[record(1)])).json()[
        "allowed"
    ]
    api.post("/v1/checks", role="system", json=request(purpose="curiosity"))
    report = api.get("/v1/reports?from=2025-06-01&to=2025-06-30", role="auditor")
    assert report.status_code == 200, report.text
    body = report.json()
    assert body["log"]["ok"] is True and body["log"]["entries"] == 2
    assert body["disclosures"][0]["people"] == 1
    assert body["denials"] == [
        {"code": "purpose_not_permitted", "agreement": "irs-ice-2025-mou", "decisions": 1}
    ]
    as_csv = api.get("/v1/reports/denials.csv", role="auditor")
    assert as_csv.headers["x-log-verified"] == "true"
    assert next(iter(csv.DictReader(io.StringIO(as_csv.text))))["code"] == "purpose_not_permitted"
    people = api.get("/v1/reports/disclosures.csv", role="admin")
    assert next(iter(csv.DictReader(io.StringIO(people.text))))["people"] == "1"


def test_only_auditors_and_admins_read_reports(api: Api) -> None:
    for role in ("legal", "reviewer", "system"):
        assert api.get("/v1/reports", role=role).status_code == 403


def test_a_bad_period_is_a_400_naming_the_problem(api: Api) -> None:
    assert api.get("/v1/reports?from=2025-13-01", role="auditor").status_code == 400
    backwards = api.get("/v1/reports?from=2025-07-01&to=2025-06-01", role="auditor")
    assert backwards.status_code == 400 and "before it starts" in backwards.json()["detail"]
