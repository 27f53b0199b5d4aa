"""Find the line of a field path in a TOML or YAML file, so every problem names its line.

tomllib keeps no positions, so TOML is scanned line by line: table headers, arrays of
tables and ``key = value`` lines (dotted keys and inline tables included). A path that was
not found exactly falls back to its nearest ancestor that was.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

import yaml

Path = tuple[str | int, ...]

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(
    r"""^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*="""
)
_INLINE_KEY = re.compile(r"""[{,]\s*([A-Za-z0-9_-]+|"[^"]*")\s*=""")


def render(path: Sequence[str | int]) -> str:
    """``('fields', 'permitted', 2)`` → ``fields.permitted[2]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def _split_key(key: str) -> list[str]:
    parts = re.findall(r"""[A-Za-z0-9_-]+|"[^"]*"|'[^']*'""", key)
    return [p.strip("\"'") for p in parts]


class Locator:
    """Line numbers (1-based) of the paths found in one file."""

    def __init__(self, lines: dict[Path, int]) -> None:
        self._lines = lines

    def line(self, path: Sequence[str | int]) -> int | None:
        """The line of ``path`` or, failing that, of its nearest located ancestor."""
        key = tuple(path)
        while key:
            if key in self._lines:
                return self._lines[key]
            key = key[:-1]
        return None

    @classmethod
    def empty(cls) -> Locator:
        return cls({})

    @classmethod
    def for_toml(cls, text: str) -> Locator:
        lines: dict[Path, int] = {}
        table: Path = ()
        aot_index: dict[Path, int] = {}
        for number, raw in _logical_lines(text):
            header = _HEADER.match(raw)
            if header and not _KEY.match(raw):
                is_array = header.group(1) == "[["
                resolved: Path = ()
                segments = _split_key(header.group(2))
                for i, segment in enumerate(segments):
                    resolved = (*resolved, segment)
                    last = i == len(segments) - 1
                    if last and is_array:
                        aot_index[resolved] = aot_index.get(resolved, -1) + 1
                        lines.setdefault(resolved, number)
                        resolved = (*resolved, aot_index[resolved])
                    elif resolved in aot_index:
                        resolved = (*resolved, aot_index[resolved])
                table = resolved
                for end in range(1, len(table) + 1):
                    lines.setdefault(table[:end], number)  # [a.b] defines table a too
                continue
            key = _KEY.match(raw)
            if key:
                path = (*table, *_split_key(key.group(1)))
                for end in range(len(table) + 1, len(path) + 1):
                    lines.setdefault(path[:end], number)  # dotted keys define tables too
                rest = raw[key.end() :]
                if rest.lstrip().startswith("{"):
                    for inner in _INLINE_KEY.finditer(rest):
                        lines.setdefault((*path, inner.group(1).strip('"')), number)
        return cls(lines)

    @classmethod
    def for_yaml(cls, text: str) -> Locator:
        lines: dict[Path, int] = {}

        def walk(node: yaml.Node | None, path: Path) -> None:
            if isinstance(node, yaml.MappingNode):
                for key_node, value_node in node.value:
                    child = (*path, str(key_node.value))
                    lines.setdefault(child, key_node.start_mark.line + 1)
                    walk(value_node, child)
            elif isinstance(node, yaml.SequenceNode):
                for index, item in enumerate(node.value):
                    child = (*path, index)
                    lines.setdefault(child, item.start_mark.line + 1)
                    walk(item, child)

        try:
            walk(_compose_yaml(text), ())
        except (yaml.YAMLError, RecursionError):  # JSON nests deeper than PyYAML can follow
            return cls.empty()
        return cls(lines)


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """Lines that start outside multi-line strings and multi-line arrays, numbered from 1.

    A small scanner follows strings, comments and bracket depth, so that triple quotes
    inside a comment or a one-line string open nothing, and a ``["a", "b"]`` line inside a
    multi-line array is not taken for a table header.
    """
    open_string: str | None = None
    depth = 0
    # Lines end at LF only, as tomllib counts them: splitlines() would also end one at a
    # U+2028 or a NEL, which TOML allows in comments and strings, and put every later
    # problem on the wrong line.
    for number, raw in enumerate(text.split("\n"), start=1):
        starts_clean = open_string is None and depth == 0
        open_string, depth = _scan(raw, open_string, depth)
        if starts_clean:
            yield number, raw


_TRIPLE_QUOTES = ('"' * 3, "'" * 3)


def _scan(line: str, open_string: str | None, depth: int) -> tuple[str | None, int]:
    """State after ``line``: the multi-line string still open, and the bracket depth."""
    i, n = 0, len(line)
    while i < n:
        if open_string is not None:
            end = line.find(open_string, i)
            if end < 0:
                return open_string, depth
            i, open_string = end + 3, None
            continue
        char = line[i]
        if char == "#":
            break
        if line.startswith(_TRIPLE_QUOTES, i):
            open_string, i = line[i : i + 3], i + 3
            continue
        if char in ("'", '"'):
            i = _string_end(line, i)
            continue
        if char in "[{":
            depth += 1
        elif char in "]}":
            depth = max(depth - 1, 0)
        i += 1
    return open_string, depth


def _string_end(line: str, start: int) -> int:
    """Index just past the one-line string that starts at ``start``."""
    quote, i = line[start], start + 1
    while i < len(line):
        if quote == '"' and line[i] == "\\":
            i += 2
            continue
        if line[i] == quote:
            return i + 1
        i += 1
    return len(line)


def _compose_yaml(text: str) -> yaml.Node | None:
    """The node tree of ``text``, for its lines: parsed in C when PyYAML has libyaml
    (about five times faster: a file of 250,000 unknown keys spent 8 of its 24 s of lint
    here), in Python when it has not or libyaml refuses the text. Only lines are taken
    from it; what the file holds is read by :class:`registry.documents.StrictBoolLoader`
    in Python, since libyaml reads some texts PyYAML refuses (``a:\tb``, ``a: |#``) and
    ``a: !`` as text where PyYAML reads null."""
    if yaml.__with_libyaml__:
        try:
            return yaml.compose(text, Loader=yaml.CSafeLoader)
        except yaml.YAMLError:
            pass
    return yaml.compose(text, Loader=yaml.SafeLoader)
