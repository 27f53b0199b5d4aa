"""Properties (hypothesis) of decisions: removing a field never turns an allowed transfer
into a denial, adding one outside the agreement always denies it, the in-memory, streamed
and HTTP paths agree, and dates decide exactly at their boundaries."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient

from registry.access import Tokens
from registry.app import create_app
from registry.service import Registry
from tests.checking.helpers import record, request
from tests.conftest import AGREEMENTS

PERMITTED = ["taxpayer.name", "taxpayer.address", "taxpayer.tin", "taxable_periods"]
OUTSIDE = ["return.wages", "taxpayer.phone", "spouse.name", "taxpayer.address_history"]
SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    opened = Registry.open(f"sqlite:///{tmp_path_factory.mktemp('props') / 'r.db'}")
    opened.load([AGREEMENTS])
    try:
        yield opened
    finally:
        opened.close()


def _codes(decision: object) -> tuple[bool, tuple[str, ...]]:
    d = decision
    return d.allowed, tuple(sorted({r.code for r in d.reasons}))  # type: ignore[attr-defined]


fields = st.lists(st.sampled_from(PERMITTED), min_size=1, unique=True)


@SETTINGS
@given(chosen=fields, drop=st.integers(min_value=0, max_value=3))
def test_removing_a_field_keeps_an_allowed_transfer_allowed(
    registry: Registry, chosen: list[str], drop: int
) -> None:
    before = registry.check(request(fields=chosen, record_count=1))
    assert before.allowed  # every subset of the permitted fields fits the memorandum
    fewer = [f for i, f in enumerate(chosen) if i != drop % len(chosen)] or chosen[:1]
    assert registry.check(request(fields=fewer, record_count=1)).allowed


@SETTINGS
@given(chosen=fields, extra=st.sampled_from(OUTSIDE))
def test_adding_a_field_outside_the_agreement_denies(
    registry: Registry, chosen: list[str], extra: str
) -> None:
    decision = registry.check(request(fields=[*chosen, extra], record_count=1))
    assert not decision.allowed
    assert {r.code for r in decision.reasons} & {"field_not_permitted", "field_prohibited"}


people = st.lists(
    st.builds(
        lambda i, zip_only: (
            record(i, taxpayer={"name": "A", "tin": str(i), "address": {"zip": "62701"}})
            if zip_only
            else record(i)
        ),
        st.integers(min_value=1, max_value=10**6),
        st.booleans(),
    ),
    min_size=1,
    max_size=6,
)


@SETTINGS
@given(records=people, purpose=st.sampled_from(["nontax-criminal-investigation", "curiosity"]))
def test_in_memory_stream_and_http_decide_alike(
    registry: Registry, tmp_path: Path, records: list[dict[str, object]], purpose: str
) -> None:
    body = request(records=records, purpose=purpose)
    in_memory = registry.check(body)
    head = request(records=None, purpose=purpose)
    streamed = registry.check_stream(head, iter(records))
    token = Tokens(registry.db).create("system", name="p", by="t", system="irs-itin-address")
    with TestClient(create_app(registry, token_cache_seconds=60)) as client:
        over_http = client.post(
            "/v1/checks", json=body, headers={"Authorization": f"Bearer {token.token}"}
        ).json()
    expected = _codes(in_memory)
    assert _codes(streamed) == expected
    assert (over_http["allowed"], tuple(sorted({r["code"] for r in over_http["reasons"]}))) == (
        expected
    )


EFFECTIVE, EXPIRES = datetime.date(2025, 4, 7), datetime.date(2027, 4, 6)


@pytest.mark.parametrize(
    ("on", "allowed", "code"),
    [
        (EFFECTIVE - datetime.timedelta(days=1), False, "agreement_not_yet_effective"),
        (EFFECTIVE, True, None),
        (EXPIRES, True, None),
        (EXPIRES + datetime.timedelta(days=1), False, "agreement_expired"),
    ],
)
def test_dates_decide_exactly_at_the_boundaries(
    registry: Registry, on: datetime.date, allowed: bool, code: str | None
) -> None:
    decision = registry.check(request(on=on.isoformat(), record_count=1))
    assert decision.allowed is allowed
    if code:
        assert code in {r.code for r in decision.reasons}


def test_a_file_round_trips_through_the_database_unchanged(registry: Registry) -> None:
    from registry.documents import read

    for path in sorted(AGREEMENTS.glob("*.toml")):
        value = read(path).value
        if value is None or not hasattr(value, "fields"):
            continue
        stored = registry.agreement(value.id, version=1).agreement  # type: ignore[attr-defined]
        assert stored == value, path.name
