"""The compiled twins (Cython) pass only what the Python code passes, and pass the common
case, so they speed checks up without changing a decision. Under CI they must be built."""

from __future__ import annotations

import copy
import importlib
from typing import Any
from unittest import mock

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st
from registry_plugins.irc6103 import address

from registry.checking import SubjectSpool, _person
from registry.engine import core_checks, recordcheck
from registry.engine.subjects import SubjectHasher, normalise
from registry.schemas import Agreement
from tests.conftest import agreement_data
from tests.engine.test_recordcheck import AGREEMENTS, KEYS, records

# Imported directly, not through twin(). Where they were not built, or with
# REGISTRY_PURE_PYTHON=1, this file is left out (deselected, see tests/engine/conftest.py),
# except under CI, which requires them: the first test then fails.
try:
    records_twin: Any = importlib.import_module("registry.engine._records")
    address_twin: Any = importlib.import_module("registry_plugins.irc6103._address")
except ImportError:
    records_twin = address_twin = None


def test_the_twins_are_built_and_used() -> None:
    assert records_twin is not None and address_twin is not None, "the twins were not built"
    assert recordcheck.compiled is records_twin and address.compiled is address_twin


class Mapping(dict):  # type: ignore[type-arg]
    """A dict subclass: the twins leave it to Python."""


FULL = {
    "taxpayer": {
        "name": "A B",
        "tin": "123456789",
        "address": {"street": "12 Main St", "city": "X", "state": "IL", "zip": "62701"},
    },
    "taxable_periods": [2023],
    "return": {"wages": 1},
}
LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-1, 2),
    st.floats(allow_nan=False),
    st.sampled_from(["", " ", "x", "0", "١٢", "12 Main St", "987654321"]),
    st.lists(st.integers(0, 2), max_size=2),
    st.just(()),
    st.builds(Mapping, st.dictionaries(st.sampled_from(KEYS), st.integers(), max_size=2)),
)


def _paths(value: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            out += _paths(child, (*prefix, key))
    return out


@st.composite
def near_clean(draw: st.DrawFn) -> Any:
    """The full record with up to three changes: a key dropped, a value replaced, a key
    added. Most of these records are clean for some agreement, so the property bites."""
    record = copy.deepcopy(FULL)
    for _ in range(draw(st.integers(0, 3))):
        path = draw(st.sampled_from(_paths(record)[1:]))
        parent = record
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["drop", "replace", "add"]))
        if action == "drop":
            del parent[path[-1]]
        elif action == "replace":
            parent[path[-1]] = draw(LEAVES)
        elif isinstance(parent[path[-1]], dict):
            parent[path[-1]][draw(st.sampled_from(KEYS))] = draw(LEAVES)
    return record


@settings(max_examples=500, deadline=None)
@given(
    batch=st.lists(st.one_of(near_clean(), records), max_size=6),
    which=st.integers(0, len(AGREEMENTS) - 1),
)
def test_a_record_the_twin_passes_the_python_check_passes(batch: list, which: int) -> None:
    prepared = core_checks.prepare(msgspec.convert(AGREEMENTS[which], Agreement))
    unclear = set(
        records_twin.unclear(batch, prepared.required_parts, prepared.subject_index, prepared.tree)
    )
    for offset, record in enumerate(batch):
        if offset not in unclear:
            assert prepared.clean(record), record


def test_the_property_above_sees_records_the_twin_passes() -> None:
    """Without this, a twin that passed nothing would satisfy the property. (The second
    agreement requires the TIN and prohibits it: nothing is clean under it.)"""
    taxpayer = FULL["taxpayer"]
    passing = {
        0: {"taxpayer": taxpayer},
        2: {"taxpayer": {"name": "A B", "address": {"zip": "62701"}}},
    }
    for which, record in passing.items():
        prepared = core_checks.prepare(msgspec.convert(AGREEMENTS[which], Agreement))
        args = (prepared.required_parts, prepared.subject_index, prepared.tree)
        assert records_twin.unclear([record], *args) == [], which
        assert prepared.clean(record)


def test_the_twin_passes_the_typical_record_and_nothing_odd() -> None:
    prepared = core_checks.prepare(msgspec.convert(agreement_data(), Agreement))
    good = {"taxpayer": FULL["taxpayer"]}
    odd = [
        {**good, "return": {"wages": 1}},  # a prohibited field
        {"taxpayer": {**good["taxpayer"], "name": " \t"}},  # blank
        {"taxpayer": {**good["taxpayer"], "tin": "１２３"}},  # digits, not ASCII: Python decides
        {"taxpayer": {**good["taxpayer"], "tin": 123456789}},  # a number: Python decides
        {"taxpayer": Mapping(good["taxpayer"])},  # a dict subclass
        {"taxpayer": [good["taxpayer"]]},
        ["not", "a", "record"],
    ]
    batch = (good, *odd, good)
    unclear = records_twin.unclear(
        batch, prepared.required_parts, prepared.subject_index, prepared.tree
    )
    assert unclear == list(range(1, len(odd) + 1))


identifiers = st.one_of(
    st.none(),
    st.integers(0, 10**20),
    st.text(alphabet="0123456789- １٣a", max_size=22),
    st.sampled_from(["0123", "123", "00123", "١٢", "12", "1" * 18, "1" * 19, "12-3", ""]),
    st.lists(st.integers(0, 3), max_size=2),
)


@settings(max_examples=300, deadline=None)
@given(values=st.lists(identifiers, max_size=8), nested=st.booleans())
def test_the_twin_gathers_the_same_people(values: list, nested: bool) -> None:
    batch: list = [
        {"taxpayer": (Mapping if nested and i % 2 else dict)(tin=value)}
        for i, value in enumerate(values)
    ]
    batch.append({"taxpayer": "no table"})
    twin: set = set()
    records_twin.add_people(batch, ("taxpayer", "tin"), twin, normalise)
    python = {_person(value) for value in [*values, None]}
    assert twin == python
    # one key a person: as many keys as distinct normal identifiers
    assert len(twin - {None}) == len({normalise(v) for v in values} - {None})


@settings(max_examples=100, deadline=None)
@given(values=st.lists(identifiers, max_size=8))
def test_a_spool_hashes_each_person_once_with_and_without_the_twin(values: list) -> None:
    batch = [{"taxpayer": {"tin": value}} for value in values]
    hasher = SubjectHasher(b"k" * 32)
    expected = sorted(hasher.digest(n) for n in {normalise(v) for v in values} - {None})
    for twin in (records_twin, None):
        with mock.patch.object(recordcheck, "compiled", twin):
            spool = SubjectSpool(hasher, {"a": "taxpayer.tin"})
            spool.add(batch)
            assert spool.subjects("a") == expected


text = st.one_of(
    st.builds(
        "{}{}{}".format,
        st.text(alphabet="0123456789:/-A١ ", max_size=4),
        st.sampled_from([" ", "  ", "\t", "", "\u00a0"]),
        st.sampled_from(["Main St", "Unknown", "N/A", "Elm Rd", "x", "Main St "]),
    ),
    st.sampled_from(["12 Main St", "PO Box 7", "12A Main St", "١٢ Main St", "7 N/A"]),
    st.text(alphabet="0123456789 AaZz.-\t:", max_size=12),
)
# Valid parts half the time, so that the street line is what decides.
cities = st.one_of(
    st.just("Springfield"), st.sampled_from(["Unknown", "N/A", "St. Louis", " Springfield", "X1"])
)
states = st.one_of(st.just("IL"), st.sampled_from(["il", "IL.", " IL", "ZZ", "DC"]))
zips = st.one_of(
    st.just("62701"), st.sampled_from(["6270", "62701-1234", "６２７０１", " 62701", "abcde"])
)
addresses = st.one_of(
    st.fixed_dictionaries({"street": text, "city": cities, "state": states, "zip": zips}),
    st.fixed_dictionaries({"line1": text, "city": cities, "state": states, "zip_code": zips}),
    st.sampled_from([None, "12 Main St, Springfield, IL 62701", {"zip": "62701"}, ["x"]]),
)


@settings(max_examples=400, deadline=None)
@given(batch=st.lists(addresses, max_size=6))
def test_an_address_the_twin_passes_is_complete(batch: list) -> None:
    records = [{"taxpayer": {"address": value}} for value in batch]
    known = {"street": "12 Main St", "city": "Springfield", "state": "IL", "zip": "62701"}
    for name in ["Main St", "Elm Rd", "Unknown", "N/A", "x"]:  # names judged before
        address.is_complete(dict(known, street=f"1 {name}"))
    for value in batch:  # and these, as a previous batch would have
        address.is_complete(value)
    unclear = set(address.suspects(records, ("taxpayer", "address")))
    for offset, value in enumerate(batch):
        if offset not in unclear:
            assert address.is_complete(value), value


@settings(max_examples=400, deadline=None)
@given(street=text)
def test_a_street_line_the_twin_passes_is_a_street_line(street: str) -> None:
    """The street line alone, with a good city, state and ZIP around it."""
    known = {"street": "12 Main St", "city": "Springfield", "state": "IL", "zip": "62701"}
    for name in ["Main St", "Elm Rd", "Unknown", "N/A", "x"]:
        address.is_complete(dict(known, street=f"1 {name}"))
    value = dict(known, street=street)
    if not address.suspects([{"a": value}], ("a",)):
        assert address.is_complete(value), street


def test_the_twin_passes_a_plain_address_once_its_names_are_known() -> None:
    plain = {"street": "12 Main St", "city": "Springfield", "state": "IL", "zip": "62701"}
    address.is_complete(plain)
    records = [{"taxpayer": {"address": dict(plain, street=f"{n} Main St")}} for n in range(1, 4)]
    records.append({"taxpayer": {"address": dict(plain, zip="6270")}})
    assert list(address.suspects(records, ("taxpayer", "address"))) == [3]
