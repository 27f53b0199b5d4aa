"""No token, secret or raw personal identifier in the service's logs: every record the
application logs during a busy session (checks, failures, bad input, searches) is
scanned."""

from __future__ import annotations

import logging

import pytest

from tests.api.conftest import Api
from tests.checking.helpers import record, request

TIN = "987654321"


def test_logs_hold_no_token_and_no_identifier(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    person = record(1, taxpayer={**record(1)["taxpayer"], "tin": TIN})
    secrets = [*api.tokens.values(), TIN]
    api.post("/v1/checks", role="system", json=request(records=[person]))
    api.post("/v1/checks", role="system", json=request(records=[person], purpose="x"))
    api.post("/v1/checks", role="system", content=b'{"agreement": "' + TIN.encode() + b'", "x": 1}')
    api.post("/v1/checks", role="other_system", json=request(records=[person]))
    api.post("/v1/disclosures/search", role="auditor", json={"subject": TIN})
    api.post("/v1/disclosures/search", role="auditor", json={"subject": ""})
    api.client.get("/v1/agreements", headers={"Authorization": f"Bearer {api.tokens['legal']}x"})
    api.client.get("/v1/decisions/%00", headers={"Authorization": f"Bearer {api.tokens['admin']}"})
    stream = b"\n".join(
        [request(records=None).__repr__().encode(), b'{"taxpayer": {"tin": "' + TIN.encode() + b'"']
    )
    api.post(
        "/v1/checks/records",
        role="system",
        content=stream,
        headers={"Content-Type": "application/x-ndjson"},
    )
    logged = caplog.text + "\n".join(f"{r.args!r}" for r in caplog.records)  # with tracebacks
    assert caplog.records, "nothing was logged: the scan would prove nothing"
    leaked = [s for s in secrets if s in logged]
    assert leaked == [], "secrets or identifiers in the logs"
