"""Records as NDJSON: one JSON object a line, read as a stream in bounded memory."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import msgspec

from .errors import InvalidInput
from .schemas import Problem

_decoder = msgspec.json.Decoder()
MAX_LINE_BYTES = 1024 * 1024


def records(lines: Iterable[bytes], name: str = "records") -> Iterator[Any]:
    """Decode each non-blank line; a bad line stops the stream with InvalidInput naming
    the line, so nothing half-read is ever decided."""
    for number, line in enumerate(lines, start=1):
        if len(line) > MAX_LINE_BYTES:
            raise _bad(name, number, f"line is longer than {MAX_LINE_BYTES} bytes")
        if not line.strip():
            continue
        try:
            value = _decoder.decode(line)
        except msgspec.DecodeError as exc:
            raise _bad(name, number, f"not JSON: {exc}") from exc
        if not isinstance(value, dict):
            raise _bad(name, number, "each line must be a JSON object (one record)")
        yield value


def _bad(name: str, number: int, message: str) -> InvalidInput:
    problem = Problem(severity="error", rule="records", message=message, file=name, line=number)
    return InvalidInput(f"{name}:{number}: {message}; nothing was checked", [problem])
