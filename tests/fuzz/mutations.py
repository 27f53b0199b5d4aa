"""Hypothesis strategies that break a real document: its structure kept, its keys, values and
types changed, or its bytes flipped, cut and spliced. Starting from a real agreement or check
request reaches much deeper into the decoders than random bytes alone."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import tomli_w
import yaml
from hypothesis import strategies as st

Path = tuple[str | int, ...]

# Text that has broken parsers and stores before: NUL, a lone surrogate, terminal escapes,
# wildcards, dates that do not exist, numbers as text, and long runs.
HOSTILE_TEXT = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ud800",
    "\x1b[2J",
    "\r\n",
    "\ufeff",
    "é",
    "𝒳",
    "*",
    "return.*",
    ".",
    "a..b",
    "irs",
    "dhs-ice",
    "2025-02-30",
    "1e999",
    "NaN",
    "null",
    "on",
    "x" * 600,
    "a." * 150,
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 2**53, 2**53 + 1, 2**64, 10**400]),
    st.floats(),  # NaN and both infinities included
    st.text(max_size=20),
    st.sampled_from(HOSTILE_TEXT),
    st.dates(),
    st.datetimes(),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=12) | st.sampled_from(HOSTILE_TEXT), inner, max_size=3)
    ),
    max_leaves=8,
)


def paths(data: Any, path: Path = ()) -> Iterator[Path]:
    """Every path inside ``data``, containers and leaves, in document order."""
    if isinstance(data, dict):
        items: Any = data.items()
    elif isinstance(data, list):
        items = enumerate(data)
    else:
        return
    for key, value in items:
        yield (*path, key)
        yield from paths(value, (*path, key))


def leaves(data: Any) -> list[Path]:
    return [p for p in paths(data) if not isinstance(at(data, p), (dict, list))]


def at(data: Any, path: Path) -> Any:
    for part in path:
        data = data[part]
    return data


@st.composite
def mutated(draw: st.DrawFn, base: dict[str, Any], max_changes: int = 3) -> dict[str, Any]:
    """``base`` with one to ``max_changes`` changes: a value replaced, a key removed, a key
    added or renamed."""
    data = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, max_changes))):
        found = list(paths(data))
        if not found:
            break
        path = draw(st.sampled_from(found))
        parent, key = at(data, path[:-1]), path[-1]
        change = draw(st.sampled_from(["replace", "remove", "add", "rename"]))
        if change == "replace":
            parent[key] = draw(values)
        elif change == "remove":
            del parent[key]
        elif isinstance(parent, dict):
            name = draw(st.text(max_size=12) | st.sampled_from(HOSTILE_TEXT))
            if change == "add":
                parent[name] = draw(values)
            else:
                parent[name] = parent.pop(key)
        else:
            parent.append(draw(values))
    return data


def serialized(data: dict[str, Any], fmt: str) -> tuple[bytes, str]:
    """``data`` written as ``fmt``, as a person or a program would; TOML has no null, so a
    document with one is written as JSON. Lone surrogates stay in, as escapes or as the
    bytes no UTF-8 decoder takes."""
    if fmt == "toml":
        try:
            return tomli_w.dumps(data).encode("utf-8", "surrogatepass"), "toml"
        except (TypeError, ValueError):
            fmt = "json"
    if fmt == "yaml":
        return yaml.safe_dump(data, sort_keys=False).encode(), "yaml"
    return json.dumps(data, default=str).encode(), "json"


@st.composite
def spliced(draw: st.DrawFn, raw: bytes, max_edits: int = 4) -> bytes:
    """``raw`` with a few bytes replaced, removed, repeated or inserted."""
    data = bytearray(raw)
    for _ in range(draw(st.integers(1, max_edits))):
        where = draw(st.integers(0, len(data)))
        edit = draw(st.sampled_from(["replace", "remove", "insert", "repeat"]))
        chunk = draw(st.binary(min_size=1, max_size=8) | st.sampled_from(SPECIAL_BYTES))
        if edit == "replace":
            data[where : where + len(chunk)] = chunk
        elif edit == "remove":
            del data[where : where + draw(st.integers(1, 64))]
        elif edit == "insert":
            data[where:where] = chunk
        else:
            data[where:where] = data[where : where + draw(st.integers(1, 32))] * draw(
                st.integers(2, 50)
            )
    return bytes(data)


SPECIAL_BYTES = [
    b"\x00",
    b"\xff",
    b"\xc0\x80",  # an overlong NUL
    b"\xed\xa0\x80",  # a surrogate, UTF-8 encoded
    b"\xef\xbb\xbf",  # a byte order mark
    b"\r",
    b"\r\n",
    b"\n",
    b"[",
    b"{",
    b'"',
    b"'''",
    b"*a",
    b"&a ",
    b"!!python/object:os.system ",
    b"\\u0000",
    b"\\ud800",
    b"=",
    b":",
    b".",
    b"9" * 40,
]
