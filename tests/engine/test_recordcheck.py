"""The generated fast path never calls a record clean that the exact checks would refuse."""

from __future__ import annotations

import dataclasses
from unittest import mock

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from registry.engine import core_checks, recordcheck
from registry.engine.recordcheck import compile_check
from registry.schemas import Agreement
from tests.conftest import agreement_data

KEYS = ["taxpayer", "name", "address", "tin", "return", "wages", "taxable_periods", "zip"]
leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-2, 2),
    st.sampled_from(["", " ", "x", "12 Main St"]),
    st.lists(st.integers(0, 3), max_size=2),
)
value = st.recursive(
    leaf,
    lambda inner: st.one_of(
        st.dictionaries(st.sampled_from(KEYS), inner, max_size=4),
        st.lists(st.dictionaries(st.sampled_from(KEYS), inner, max_size=3), max_size=2),
    ),
    max_leaves=12,
)
records = st.dictionaries(st.sampled_from(KEYS), value, max_size=5)

AGREEMENTS = [
    agreement_data(),
    agreement_data(
        fields={
            "permitted": ["taxpayer", "taxable_periods"],
            "prohibited": ["taxpayer.tin", "return.*"],
        }
    ),
    agreement_data(
        fields={
            "permitted": ["taxpayer.name", "taxpayer.address.zip", "return"],
            "prohibited": ["return.wages"],
        },
        records={"required_fields": ["taxpayer.name"]},
    ),
]


def _slow_findings(prepared: core_checks.CorePrepared, record: dict) -> list:
    """The exact checks alone: the fast path switched off."""
    slow = dataclasses.replace(prepared, clean=lambda record: False)
    with mock.patch.object(recordcheck, "compiled", None):
        return list(core_checks.check_records(slow, [record], 0))


@settings(max_examples=400, deadline=None)
@given(record=records, which=st.integers(0, len(AGREEMENTS) - 1))
def test_a_clean_verdict_is_never_wrong(record: dict, which: int) -> None:
    agreement = msgspec.convert(AGREEMENTS[which], Agreement)
    prepared = core_checks.prepare(agreement)
    if prepared.clean(record):
        assert _slow_findings(prepared, record) == []


def test_the_typical_record_takes_the_fast_path() -> None:
    prepared = core_checks.prepare(msgspec.convert(agreement_data(), Agreement))
    record = {
        "taxpayer": {
            "name": "A B",
            "tin": "123456789",
            "address": {"street": "12 Main St", "city": "X", "state": "IL", "zip": "62701"},
        }
    }
    assert prepared.clean(record)
    assert not prepared.clean({**record, "return": {"wages": 1}})
    assert not prepared.clean({"taxpayer": {"name": "", "tin": "1"}})
    assert not prepared.clean({"taxpayer": [{"name": "A", "tin": "1"}]})
    assert not prepared.clean(["not", "a", "record"])


def test_generated_code_quotes_field_names() -> None:
    clean = compile_check((("a-b", ("a-b",)),), {"a-b": True})
    assert clean({"a-b": "x"})
    assert not clean({"a-b": "x", "c": 1})
