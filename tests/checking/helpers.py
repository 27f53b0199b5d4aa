"""Requests and records for checking tests, against the shipped IRS-ICE memorandum."""

from __future__ import annotations

from typing import Any

from tests.conftest import replaced

AGREEMENT = "irs-ice-2025-mou"

REQUEST: dict[str, Any] = {
    "agreement": AGREEMENT,
    "source_system": "irs-itin-address",
    "recipient": "dhs-ice",
    "purpose": "nontax-criminal-investigation",
    "fields": ["taxpayer.name", "taxpayer.address"],
    "on": "2025-06-01",
    "request": {
        "signed_by": "Director, U.S. Immigration and Customs Enforcement",
        "statutory_authority": "8 U.S.C. 1253(a)(1)",
        "case_number": "ICE-2025-0001",
        "relevance_statement": "Subject of a criminal investigation under 8 U.S.C. 1253(a)(1).",
        "certification": True,
    },
    "approvals": [{"role": "disclosure-officer", "by": "a.jones"}],
}


def record(i: int, **changes: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "taxpayer": {
            "name": f"Person {i}",
            "tin": f"{100_000_000 + i}",
            "address": {
                "street": f"{i + 1} Main St",
                "city": "Springfield",
                "state": "IL",
                "zip": "62701",
            },
        },
        "taxable_periods": [2023],
    }
    value.update(changes)
    return value


def request(**changes: Any) -> dict[str, Any]:
    """The base request with top-level keys replaced (None removes a key)."""
    return replaced(REQUEST, changes)
