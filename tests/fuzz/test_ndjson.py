"""Hostile NDJSON record streams: every record, or invalid input naming the first bad line,
whatever the chunk it falls in, quickly, and nothing else."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry import ndjson
from registry.errors import InvalidInput
from tests.fuzz.conftest import Run
from tests.fuzz.outcomes import ROOT, read_records

SETTINGS = settings(
    max_examples=300,
    deadline=timedelta(seconds=2),
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
RECORDS = (ROOT / "examples" / "records.ndjson").read_bytes().splitlines(keepends=True)
FAST = 10.0


line = st.one_of(
    st.sampled_from(RECORDS),
    st.sampled_from(RECORDS).map(lambda r: r.rstrip(b"\n") + b" " + r),  # two values
    st.binary(max_size=60).map(lambda b: b.replace(b"\n", b"") + b"\n"),
    st.sampled_from(
        [
            b"\n",
            b"\r\n",
            b" \t\n",
            b"\x0c\n",  # a form feed: not JSON whitespace
            b"\xef\xbb\xbf{}\n",
            b'{"a": "\x00"}\n',
            b'{"a": "\\u0000"}\n',
            b'{"a": "\xff"}\n',
            b'{"a": "\\ud800"}\n',
            b'{"a": NaN}\n',
            b'{"a": 1e999}\n',
            b'{"a": ' + b"9" * 5000 + b"}\n",
            b"[1]\n",
            b"null\n",
            b"{}{}\n",
            b"{}\r{}\n",
            b'{"a": ' + b"[" * 5000 + b"]" * 5000 + b"}\n",
            b'{"big": "' + b"x" * 70_000 + b'"}\n',  # a chunk of its own
        ]
    ),
)


@SETTINGS
@given(lines=st.lists(line, max_size=40), end=st.sampled_from([b"", b"\n", b"{"]))
def test_a_stream_gives_its_records_or_names_its_first_bad_line(
    lines: list[bytes], end: bytes
) -> None:
    read_records(b"".join(lines) + end)


@SETTINGS
@given(data=st.binary(max_size=2000))
def test_any_bytes_give_records_or_name_a_line(data: bytes) -> None:
    read_records(data)


BIG = ndjson.MAX_LINE_BYTES


@pytest.mark.parametrize(
    ("data", "line", "expected"),
    [
        (RECORDS[0] + b'{"a": "' + b"x" * 2 * BIG + b'"}\n', 2, "longer than"),
        (RECORDS[0] + b"x" * 10 * BIG, 2, "longer than"),
        (RECORDS[0] + b'{"a": 1}\x00\n', 2, "text after the record"),
        (RECORDS[0] + b'{"a": "\x00"}\n', 2, "not JSON"),
        (RECORDS[0] + b'{"a": "\xff"}\n', 2, "not UTF-8"),
        (b"\xef\xbb\xbf" + RECORDS[0], 1, "byte order mark"),
        (RECORDS[0] + RECORDS[1].rstrip(b"\n") + RECORDS[2], 2, "text after the record"),
        (RECORDS[0].rstrip(b"\n") + b"\r" + RECORDS[1], 1, "text after the record"),
        (RECORDS[0] + b'{"a": ' + b"9" * 5000 + b"}\n", 2, "out of range"),
        (RECORDS[0] + b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n", 2, "too deeply"),
        (RECORDS[0] + b"\x0c\n" + RECORDS[1], 2, "not JSON"),
        (RECORDS[0] + b"[]\n", 2, "a JSON object"),
        (RECORDS[0] + b'{"a": 1', 2, "truncated"),
    ],
    ids=[
        "a 2 MiB line",
        "10 MiB without a newline",
        "a NUL after the record",
        "a NUL inside a string",
        "not UTF-8",
        "a byte order mark",
        "two records on a line",
        "a bare carriage return between records",
        "an integer of 5,000 digits",
        "100k deep",
        "a form feed line",
        "an array",
        "cut short",
    ],
)
def test_a_hostile_line_is_named_fast(data: bytes, line: int, expected: str) -> None:
    started = time.perf_counter()
    got = read_records(data)
    assert time.perf_counter() - started < FAST
    assert isinstance(got, InvalidInput)
    assert got.problems[0].line == line
    assert expected in got.problems[0].message


def test_two_records_on_a_line_are_refused_whatever_else_their_chunk_holds() -> None:
    """msgspec's decode_lines took them when the rest of the chunk was good, and the line
    was refused only when another line of the same chunk was bad."""
    doubled = RECORDS[1].rstrip(b"\n") + b" " + RECORDS[2]
    alone = read_records(RECORDS[0] + doubled + RECORDS[3])
    with_a_bad_line = read_records(RECORDS[0] + doubled + RECORDS[3] + b"not json\n")
    assert isinstance(alone, InvalidInput) and isinstance(with_a_bad_line, InvalidInput)
    assert alone.problems[0].line == with_a_bad_line.problems[0].line == 2


def test_a_record_split_over_two_lines_is_refused_even_when_the_count_of_records_agrees() -> None:
    """Three lines, three JSON values: a check of the count alone took this file."""
    got = read_records(b'{"a": 1,\n"b": 2}\n{} {}\n')
    assert isinstance(got, InvalidInput) and got.problems[0].line == 1


def test_crlf_and_blank_lines_are_read() -> None:
    data = b"\n".join(r.replace(b"\n", b"\r\n") for r in RECORDS[:50]) + b"\n \t\n"
    assert read_records(data) == [msgspec.json.decode(r) for r in RECORDS[:50]]


def test_the_cli_names_the_bad_line_and_records_nothing(run: Run, tmp_path: Path) -> None:
    records = tmp_path / "records.ndjson"
    records.write_bytes(b"".join(RECORDS[:5]) + b"\xef\xbb\xbf{}\n" + b"".join(RECORDS[5:]))
    result = run(
        "check", str(ROOT / "examples" / "check-ice-stream.json"), "--records", str(records)
    )
    assert result.exit_code == 2, result.output
    assert f"{records}:6: the line starts with a byte order mark" in result.output
    listed = run("decisions", "list", "--format", "json")
    assert msgspec.json.decode(listed.stdout) == []
