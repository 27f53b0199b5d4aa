"""Records as NDJSON: one JSON object a line, read as a stream in bounded memory.

Lines are gathered into chunks of about 64 KB and decoded by msgspec in one call per
chunk; only when a chunk fails is it decoded again line by line, to name the bad line.
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
        return _records.decode_lines(b"".join(chunk))
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError, UnicodeDecodeError):
        pass
    for number, line in enumerate(chunk, start=first):
        if not line.strip():
            continue
        try:
            _records.decode(line)
        except msgspec.ValidationError as exc:
            raise _bad(name, number, "each line must be a JSON object (one record)") from exc
        except msgspec.DecodeError as exc:
            raise _bad(name, number, f"not JSON: {exc}") from exc
        except UnicodeDecodeError as exc:
            raise _bad(name, number, "not UTF-8 text") from exc
        except RecursionError as exc:
            raise _bad(name, number, "the record is nested too deeply") from exc
    raise _bad(name, first, "the records could not be read")  # pragma: no cover


def _bad(name: str, number: int, message: str) -> InvalidInput:
    problem = Problem(severity="error", rule="records", message=message, file=name, line=number)
    return InvalidInput(f"{name}:{number}: {message}; nothing was checked", [problem])
