"""Records as NDJSON: one JSON object a line, read as a stream in bounded memory.

A file is read in blocks of about 64 KB of whole lines (other sources line by line, then
gathered into such blocks); each line of a block is decoded on its own, which is as fast
as msgspec's decode_lines: that takes any JSON values parted by any whitespace (a record
split over two lines, two records on one), and record indexes would no longer follow
lines. A block with a blank or a bad line is gone through again, to skip it or to name it.
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


class Records:
    """Every record, in order. A bad line stops the stream with InvalidInput naming the
    line, so nothing half-read is ever decided. A checker reads ``batches()`` instead, as
    decoded: handing out records one by one only for them to be gathered again costs
    as much as decoding them."""

    def __init__(self, lines: Iterable[bytes], name: str) -> None:
        self._lines, self._name = lines, name

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for batch in self.batches():
            yield from batch

    def batches(self) -> Iterator[list[dict[str, Any]]]:
        return batches(self._lines, self._name)


def records(lines: Iterable[bytes], name: str = "records") -> Records:
    """The records of an NDJSON stream (see :class:`Records`)."""
    return Records(lines, name)


def batches(lines: Iterable[bytes], name: str = "records") -> Iterator[list[dict[str, Any]]]:
    """Records in chunks of about 64 KB of input. A binary file is read in blocks rather
    than line by line: splitting a million lines in Python costs more than decoding them."""
    read = getattr(lines, "read", None)
    source = _blocks(read) if callable(read) else _line_blocks(lines)
    first = 1  # the number of the block's first line
    for block in source:
        if len(block) > MAX_LINE_BYTES:
            _check_line_lengths(block, first, name)
        yield _decode(block, first, name)
        first += block.count(b"\n")


def _blocks(read: Any) -> Iterator[bytes]:
    """Whole lines, about CHUNK_BYTES at a time, from a binary file's ``read``."""
    rest = b""
    while block := read(CHUNK_BYTES):
        data = rest + block
        cut = data.rfind(b"\n") + 1
        if cut:
            yield data[:cut]
            rest = data[cut:]
        else:
            rest = data
        if len(rest) > MAX_LINE_BYTES:
            yield rest  # a line too long: the caller names it
            return
    if rest:
        yield rest + b"\n"


def _line_blocks(lines: Iterable[bytes]) -> Iterator[bytes]:
    chunk: list[bytes] = []
    size = 0
    for line in lines:
        if not line.endswith(b"\n"):
            line += b"\n"
        chunk.append(line)
        size += len(line)
        if size >= CHUNK_BYTES or len(line) > MAX_LINE_BYTES:
            yield b"".join(chunk)
            chunk, size = [], 0
    if chunk:
        yield b"".join(chunk)


def _check_line_lengths(block: bytes, first: int, name: str) -> None:
    for number, line in enumerate(block.split(b"\n"), start=first):
        if len(line) + 1 > MAX_LINE_BYTES:
            raise _bad(name, number, f"line is longer than {MAX_LINE_BYTES} bytes")


def _decode(block: bytes, first: int, name: str) -> list[dict[str, Any]]:
    lines = block.split(b"\n")
    if not lines[-1]:
        lines.pop()  # after the block's last newline
    try:
        return list(map(_records.decode, lines))
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError, UnicodeDecodeError):
        pass  # a blank line, or a bad one: one at a time, to name it
    out = []
    for number, line in enumerate(lines, start=first):
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
