"""What hostile input may lead to, for the suite's properties and for the long runs in fuzz/.

The loader gives a valid document or problems that say where to look (the file, and a line or
a field); the check decoder gives a CheckRequest or InvalidInput naming the field; the records
stream gives records or InvalidInput naming the line. Any other exception fails, and so does a
problem that leaves the reader nowhere to look.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import msgspec

from registry import ndjson
from registry.checking import decode_request
from registry.documents import SourceDocument, parse
from registry.engine.lint import lint
from registry.engine.plugins import Plugins
from registry.errors import InvalidInput
from registry.schemas import CheckRequest, Problem

ROOT = Path(__file__).resolve().parents[2]
AGREEMENT = ROOT / "agreements" / "irs-ice-2025-mou.toml"
PARTIES = ROOT / "agreements" / "parties.toml"
CHECK = ROOT / "examples" / "check-ice.json"

# Problems about a whole file or body, which no line or field could place better.
WHOLE_FILE_RULES = frozenset({"file.encoding", "file.too_large"})
WHOLE_FILE_MESSAGES = ("nested too deeply", "at its top", "out of range")
# A body that is one number too large for JSON is out of range as a whole; an empty key
# has no field to name, but the message quotes it: "unknown field ''".
WHOLE_BODY_MESSAGES = (
    "(byte ",
    "truncated",
    "nested too deeply",
    "not UTF-8",
    "got '",
    "out of range",
    "unknown field '",
    "byte order mark",
)


def load(raw: bytes, fmt: str, plugins: Plugins) -> tuple[SourceDocument, list[Problem]]:
    """``raw`` read and linted as ``registry agreements lint`` does, its outcome checked."""
    doc = parse(raw, SourceDocument(path=f"hostile.{fmt}", format=fmt))
    problems = lint([doc], plugins)
    assert_clear(doc, problems, _lines(doc, raw))
    return doc, problems


def _lines(doc: SourceDocument, raw: bytes) -> int:
    """Lines in the file as its format counts them: YAML also ends one at CR, NEL, U+2028."""
    if doc.format == "yaml":
        text = raw.decode("utf-8", "replace")
        return len(re.findall("\r\n|[\r\n\x85\u2028\u2029]", text)) + 1
    return raw.count(b"\n") + 1


def assert_clear(doc: SourceDocument, problems: list[Problem], lines: int) -> None:
    """A valid document without a structural problem, or an invalid one with an error; each
    problem names the file and a line (within the file) or a field."""
    if doc.value is None:
        assert any(p.severity == "error" for p in doc.problems), "invalid, yet no error"
    else:
        assert not doc.problems, doc.problems
    for problem in problems:
        assert problem.file == doc.path, problem
        assert problem.message and "Traceback" not in problem.message, problem
        # A checker's lint rules that raise on a valid agreement are a bug in the checker.
        assert problem.rule != "plugin_failed", problem
        if problem.line is not None:
            assert 1 <= problem.line <= lines, problem
        placed = problem.line is not None or problem.field is not None
        assert (
            placed
            or problem.rule in WHOLE_FILE_RULES
            or any(m in problem.message for m in WHOLE_FILE_MESSAGES)
        ), problem


def decode_check(raw: bytes | str) -> CheckRequest | InvalidInput:
    """``raw`` decoded as the CLI and the API decode a check request, its outcome checked."""
    try:
        return decode_request(raw)
    except InvalidInput as exc:
        assert str(exc).startswith("invalid check request"), exc
        assert "Traceback" not in str(exc), exc
        (problem,) = exc.problems
        assert problem.rule == "request" and problem.severity == "error", problem
        assert problem.field or any(m in problem.message for m in WHOLE_BODY_MESSAGES), problem
        return exc


def read_records(data: bytes) -> list[dict[str, Any]] | InvalidInput:
    """``data`` read as an NDJSON records file, as ``registry check --records`` reads it,
    the outcome checked against a reading one line at a time."""
    expected = _records_one_by_one(data)
    try:
        got: list[dict[str, Any]] | InvalidInput = list(
            ndjson.records(io.BytesIO(data), "r.ndjson")
        )
    except InvalidInput as exc:
        (problem,) = exc.problems
        assert problem.file == "r.ndjson" and problem.line is not None, problem
        assert str(exc).startswith(f"r.ndjson:{problem.line}: "), exc
        assert "Traceback" not in str(exc), exc
        assert problem.line == expected, f"line {problem.line} named, {expected} expected"
        return exc
    assert got == expected, f"line {expected} should be refused"
    return got


def _records_one_by_one(data: bytes) -> list[dict[str, Any]] | int:
    """The records, or the number of the first bad line."""
    out = []
    for number, line in enumerate(io.BytesIO(data), start=1):
        if not line.strip(b" \t\r\n"):
            continue
        if len(line) > ndjson.MAX_LINE_BYTES:
            return number
        try:
            out.append(msgspec.json.decode(line, type=dict))
        except (msgspec.DecodeError, RecursionError, UnicodeDecodeError):
            return number
    return out
