"""Records as NDJSON: one JSON object a line, read as a stream in bounded memory.

Lines are gathered into chunks of about 64 KB and decoded one by one, which is as fast
as msgspec's decode_lines: that takes any JSON values parted by any whitespace (a record
split over two lines, two records on one), and record indexes would no longer follow lines.
A chunk with a blank or a bad line is gone through again, to skip it or to name it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import msgspec

from .errors import InvalidInput
from .schemas import Problem

MAX_LINE_BYTES = 1024 * 1024
CHUNK_BYTES = 64 * 1024
_records = msgspec.json.Decoder(dict)
_WHITESPACE = b" \t\r\n"  # JSON's: a form feed, which bytes.strip() also takes, is not


def records(lines: Iterable[bytes], name: str = "records") -> Iterator[dict[str, Any]]:
    """Every record, in order. A bad line stops the stream with InvalidInput naming the
    line, so nothing half-read is ever decided."""
    for batch in batches(lines, name):
        yield from batch


def batches(lines: Iterable[bytes], name: str = "records") -> Iterator[list[dict[str, Any]]]:
    """Records in chunks of about 64 KB of input."""
    chunk: list[bytes] = []
    size, first = 0, 1
    for number, line in enumerate(lines, start=1):
        if len(line) > MAX_LINE_BYTES:
            raise _bad(name, number, f"line is longer than {MAX_LINE_BYTES} bytes")
        if not line.endswith(b"\n"):
            line += b"\n"
        chunk.append(line)
        size += len(line)
        if size >= CHUNK_BYTES:
            yield _decode(chunk, first, name)
            chunk, size, first = [], 0, number + 1
    if chunk:
        yield _decode(chunk, first, name)


def _decode(chunk: list[bytes], first: int, name: str) -> list[dict[str, Any]]:
    try:
        return list(map(_records.decode, chunk))
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError, UnicodeDecodeError):
        pass  # a blank line, or a bad one: one at a time, to name it
    out = []
    for number, line in enumerate(chunk, start=first):
        if not line.strip(_WHITESPACE):
            continue
        try:
            out.append(_records.decode(line))
        except msgspec.ValidationError as exc:
            raise _bad(name, number, _invalid(str(exc))) from exc
        except msgspec.DecodeError as exc:
            raise _bad(name, number, _not_json(line, str(exc))) from exc
        except UnicodeDecodeError as exc:
            raise _bad(name, number, "not UTF-8 text") from exc
        except RecursionError as exc:
            raise _bad(name, number, "the record is nested too deeply") from exc
    return out


def _not_json(line: bytes, message: str) -> str:
    if line.startswith(b"\xef\xbb\xbf"):
        return "the line starts with a byte order mark (BOM): save the file as UTF-8 without one"
    if "trailing characters" in message:
        return "text after the record: one JSON object a line"
    return f"not JSON: {message}"


def _invalid(message: str) -> str:
    if message.startswith("Expected `object`"):
        return "each line must be a JSON object (one record)"
    return "invalid record: " + message.replace(" - at `$[...]`", "").replace("`", "'")


def _bad(name: str, number: int, message: str) -> InvalidInput:
    problem = Problem(severity="error", rule="records", message=message, file=name, line=number)
    return InvalidInput(f"{name}:{number}: {message}; nothing was checked", [problem])
