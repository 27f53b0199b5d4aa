"""Bulk checks: streamed NDJSON records decide exactly as in-memory records do."""

from __future__ import annotations

import json

import msgspec
import pytest

from registry import ndjson
from registry.errors import InvalidInput
from registry.service import Registry
from tests.checking.helpers import record, request


def _lines(records: list[dict]) -> list[bytes]:
    return [json.dumps(r).encode() + b"\n" for r in records]


def _comparable(decision) -> tuple:  # type: ignore[no-untyped-def]
    return (
        decision.allowed,
        decision.agreement,
        decision.agreement_version,
        decision.record_count,
        [msgspec.to_builtins(r) for r in decision.reasons],
    )


def test_stream_and_memory_agree_on_a_denial(loaded: Registry) -> None:
    records = [record(i) for i in range(30)]
    records[4]["taxpayer"]["address"] = {"zip": "62701"}
    records[17]["taxpayer"]["address"] = "Unknown Address"
    records[21]["return"] = {"wages": 1}
    del records[25]["taxpayer"]["name"]
    in_memory = loaded.check(request(records=records))
    streamed = loaded.check_stream(request(), ndjson.records(_lines(records)))
    assert not in_memory.allowed
    assert _comparable(in_memory) == _comparable(streamed)
    codes = {r.code: r.records for r in streamed.reasons}
    assert codes["irc6103.address_incomplete"] == (4, 17)
    assert codes["field_prohibited"] == (21,)
    assert codes["record_invalid"] == (25,)


def test_stream_in_small_batches_merges_findings(loaded: Registry) -> None:
    records = [record(i) for i in range(2_500)]
    for i in range(0, 2_500, 2):
        records[i]["taxpayer"]["address"] = {"zip": "62701"}
    streamed = loaded.checking.check_stream(request(), iter(records), batch_size=97)
    reason = next(r for r in streamed.reasons if r.code == "irc6103.address_incomplete")
    assert reason.record_total == 1_250
    assert reason.records is not None and len(reason.records) == 1_000
    assert reason.records[:3] == (0, 2, 4) and reason.records[-1] == 1_998


def test_allowed_stream_is_accounted(loaded: Registry) -> None:
    records = [record(i) for i in range(50)]
    decision = loaded.check_stream(request(), ndjson.records(_lines(records)))
    assert decision.allowed and decision.record_count == 50
    assert loaded.disclosure_summary()[0].people == 50
    assert loaded.verify().ok


def test_denied_stream_accounts_nobody(loaded: Registry) -> None:
    records = [record(i) for i in range(50)] + [record(99, taxable_periods=[])]
    decision = loaded.check_stream(request(), ndjson.records(_lines(records)))
    assert not decision.allowed
    assert [(r.code, r.records) for r in decision.reasons] == [("record_invalid", (50,))]
    assert loaded.disclosure_summary() == []


def test_a_bad_line_names_it_and_records_nothing(loaded: Registry) -> None:
    lines = [*_lines([record(1), record(2)]), b"{not json\n", *_lines([record(3)])]
    with pytest.raises(InvalidInput, match=r"records.ndjson:3: not JSON"):
        loaded.check_stream(request(), ndjson.records(lines, "records.ndjson"))
    with pytest.raises(InvalidInput, match=r":2: each line must be a JSON object"):
        loaded.check_stream(request(), ndjson.records([b"{}\n", b"[1]\n"]))
    assert loaded.decisions() == []


def test_declared_record_count_must_match_the_stream(loaded: Registry) -> None:
    decision = loaded.check_stream(request(record_count=5), ndjson.records(_lines([record(1)])))
    assert [r.code for r in decision.reasons] == ["record_count_mismatch"]


def test_stream_refuses_records_in_the_request_too(loaded: Registry) -> None:
    with pytest.raises(InvalidInput, match="not both"):
        loaded.check_stream(request(records=[record(1)]), iter([record(2)]))


def _both_ways(data: bytes) -> list[object]:
    """What ``ndjson.batches`` makes of ``data`` read as a file (in blocks) and as lines:
    the records, or the error message."""
    import io

    outcomes: list[object] = []
    for source in (io.BytesIO(data), io.BytesIO(data).readlines()):
        try:
            outcomes.append([r for batch in ndjson.batches(source, "r.ndjson") for r in batch])
        except InvalidInput as exc:
            outcomes.append(str(exc))
    return outcomes


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b'{"a":1}\n{"a":2}', [{"a": 1}, {"a": 2}]),  # no newline at the end
        (b'{"a":1}\r\n\r\n{"a":2}\r\n', [{"a": 1}, {"a": 2}]),  # CRLF, a blank line
        (b"", []),
    ],
)
def test_files_and_lines_read_alike(data: bytes, expected: list[object]) -> None:
    assert _both_ways(data) == [expected, expected]


def test_a_bad_line_far_into_a_file_is_named_by_its_number() -> None:
    """Past several 64 KB blocks, so the line count carries across blocks."""
    good = b'{"taxpayer":{"tin":"123456789","name":"Person"}}\n'
    count = 3 * ndjson.CHUNK_BYTES // len(good) + 7
    data = good * count + b'{"taxpayer": nope}\n' + good
    file_way, line_way = _both_ways(data)
    assert file_way == line_way
    assert f"r.ndjson:{count + 1}: not JSON" in str(file_way)


def test_a_line_over_the_limit_is_refused_before_it_is_read_whole() -> None:
    import io

    huge = b'{"a":"' + b"x" * (ndjson.MAX_LINE_BYTES + 10) + b'"}\n'
    data = b'{"a":1}\n' * 3 + huge + b'{"a":2}\n'
    file_way, line_way = _both_ways(data)
    assert file_way == line_way
    assert "r.ndjson:4: line is longer than" in str(file_way)
    source = io.BytesIO(data + b"x" * (50 * ndjson.MAX_LINE_BYTES))
    with pytest.raises(InvalidInput, match=":4: line is longer"):
        for _ in ndjson.batches(source, "r.ndjson"):
            pass
    assert source.tell() < 2 * ndjson.MAX_LINE_BYTES  # it stopped reading
