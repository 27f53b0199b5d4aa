"""Hostile check requests, decoded as the CLI and the API decode them: a CheckRequest or
invalid input naming the field, quickly, and nothing else."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry.errors import InvalidInput
from registry.locate import render
from registry.schemas import CheckRequest
from tests.fuzz.conftest import Run
from tests.fuzz.mutations import at, leaves, mutated, spliced
from tests.fuzz.outcomes import CHECK, decode_check

SETTINGS = settings(
    max_examples=300,
    deadline=timedelta(seconds=1),
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
BASE: dict[str, Any] = json.loads(CHECK.read_bytes())
FAST = 10.0


def _body(**changes: Any) -> bytes:
    return json.dumps({**BASE, **changes}).encode()


@SETTINGS
@given(raw=st.binary(max_size=2000))
def test_any_bytes_give_a_request_or_a_clear_error(raw: bytes) -> None:
    decode_check(raw)


@SETTINGS
@given(data=st.data())
def test_a_real_request_with_bytes_broken_gives_a_request_or_a_clear_error(
    data: st.DataObject,
) -> None:
    decode_check(data.draw(spliced(CHECK.read_bytes())))


@SETTINGS
@given(data=st.data())
def test_a_real_request_with_keys_values_and_types_changed_gives_a_clear_error(
    data: st.DataObject,
) -> None:
    changed = data.draw(mutated(BASE))
    decode_check(json.dumps(changed, default=str))
    decode_check(json.dumps(changed, default=str).encode())


# Free-form parts of a request: any JSON value is a valid element or record value.
FREE = ("request", "records")


@settings(SETTINGS, max_examples=100)
@given(data=st.data())
def test_a_value_of_the_wrong_type_is_named_with_its_path(data: st.DataObject) -> None:
    changed = json.loads(CHECK.read_bytes())
    path = data.draw(st.sampled_from(leaves(changed)))
    at(changed, path[:-1])[path[-1]] = "text" if isinstance(at(changed, path), int) else 12345
    outcome = decode_check(json.dumps(changed).encode())
    if path[0] in FREE:
        assert isinstance(outcome, CheckRequest)
    else:
        assert isinstance(outcome, InvalidInput)
        assert outcome.problems[0].field == render(path)


NESTED = 100_000
HOSTILE: dict[str, tuple[bytes, str | None, str]] = {
    # name: (body, the field named, text of the message)
    "arrays 100k deep": (b"[" * NESTED + b"]" * NESTED, None, "got 'array'"),
    "100k deep inside the request": (
        _body().replace(
            b'"request": {', b'"request": {"x": ' + b"[" * NESTED + b"]" * NESTED + b","
        ),
        None,
        "nested too deeply",
    ),
    "100k deep inside a record": (
        _body().replace(
            b'"records": [',
            b'"records": [{"x": ' + b'{"a":' * NESTED + b"1" + b"}" * NESTED + b"},",
        ),
        None,
        "nested too deeply",
    ),
    "a 10 MB field name": (_body(fields=["x" * 10_000_000]), "fields[0]", "length <= 300"),
    "a 10 MB purpose": (_body(purpose="x" * 10_000_000), "purpose", "length <= 120"),
    "a record count of 5,000 digits": (
        _body().replace(b'"on"', b'"record_count": ' + b"9" * 5000 + b', "on"'),
        "record_count",
        "out of range",
    ),
    "a record count over 2**53": (
        _body(record_count=2**53 + 1),
        "record_count",
        "<= 9007199254740992",
    ),
    "a negative record count": (_body(record_count=-1), "record_count", ">= 0"),
    "a record count of 1.0": (_body(record_count=1.0), "record_count", "got 'float'"),
    "a record count of true": (_body(record_count=True), "record_count", "got 'bool'"),
    "NaN": (_body().replace(b'"on"', b'"record_count": NaN, "on"'), None, "malformed"),
    "Infinity": (_body().replace(b'"on"', b'"record_count": Infinity, "on"'), None, "malformed"),
    "1e999 in the request": (
        _body(request={"x": 1}).replace(b'"x": 1', b'"x": 1e999'),
        "request",
        "out of range",
    ),
    "a NUL byte": (_body().replace(b'"dhs-ice"', b'"dhs-\x00ice"'), None, "malformed"),
    "an escaped NUL in a slug": (_body(recipient="dhs\x00ice"), "recipient", "regex"),
    "invalid UTF-8 in a string": (
        _body().replace(b'"dhs-ice"', b'"dhs-\xffice"'),
        None,
        "not UTF-8",
    ),
    "invalid UTF-8 outside strings": (b"\xff" + _body(), None, "(byte 0)"),
    "a lone surrogate escape": (_body().replace(b'"dhs-ice"', b'"\\ud800"'), None, "surrogate"),
    "a date that does not exist": (_body(on="2025-02-30"), "on", "date"),
    "a date and time": (_body(on="2025-06-01T00:00:00"), "on", "date"),
    "an unknown field": (_body(onn="2025-06-01"), "onn", "unknown field"),
    "an unknown field in an approval": (
        _body(approvals=[{"role": "r", "by": "b", "x": 1}]),
        "approvals[0].x",
        "unknown field",
    ),
    "a missing field": (
        json.dumps({k: v for k, v in BASE.items() if k != "purpose"}).encode(),
        "purpose",
        "missing",
    ),
    "a record that is not an object": (_body(records=[1]), "records[0]", "got 'int'"),
    "empty": (b"", None, "truncated"),
    "two requests": (_body() + _body(), None, "trailing characters"),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_request_gets_a_clear_error_fast(name: str) -> None:
    raw, field, expected = HOSTILE[name]
    started = time.perf_counter()
    outcome = decode_check(raw)
    assert time.perf_counter() - started < FAST
    assert isinstance(outcome, InvalidInput), name
    (problem,) = outcome.problems
    assert problem.field == field or (field and (problem.field or "").startswith(field)), problem
    assert expected in problem.message, problem


@pytest.mark.parametrize(
    "raw",
    [
        _body().replace(b"\n", b"\r\n"),
        _body(request={**BASE["request"], "case_number": "x" * 10_000_000}),
        _body(request={**BASE["request"], "note": "\x00\x1b[2J"}),
        _body(request={**BASE["request"], "big": 10**300}),
    ],
    ids=["CRLF", "a 10 MB request element", "control characters in an element", "a big integer"],
)
def test_free_form_parts_take_any_json(raw: bytes) -> None:
    assert isinstance(decode_check(raw), CheckRequest)


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (_body(record_count=-1), "at record_count"),
        (b"[" * NESTED, "got 'array'"),
        (_body(on="2025-13-01"), "at on"),
        (_body().replace(b'"dhs-ice"', b'"dhs-\xffice"'), "not UTF-8"),
    ],
    ids=["negative count", "deep", "bad date", "not UTF-8"],
)
def test_the_cli_exits_2_naming_the_field_and_records_nothing(
    run: Run, tmp_path: Path, body: bytes, named: str
) -> None:
    path = tmp_path / "request.json"
    path.write_bytes(body)
    result = run("check", str(path))
    assert result.exit_code == 2, result.output
    assert named in result.output and "Traceback" not in result.output
    listed = run("decisions", "list", "--format", "json")
    assert msgspec.json.decode(listed.stdout) == []


@pytest.mark.parametrize(
    ("key", "field"),
    [("it's", "it's"), ("", '""'), ("a'b'c", "a'b'c")],
)
def test_an_unknown_key_is_named_whole(key: str, field: str) -> None:
    outcome = decode_check(_body(**{key: 1}))
    assert isinstance(outcome, InvalidInput) and outcome.problems[0].field == field


def test_a_byte_order_mark_is_named() -> None:
    outcome = decode_check(b"\xef\xbb\xbf" + _body())
    assert isinstance(outcome, InvalidInput) and "byte order mark" in str(outcome)
