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
                lines.setdefault(table, number)
                continue
            key = _KEY.match(raw)
            if key:
                path = (*table, *_split_key(key.group(1)))
                lines.setdefault(path, number)
                rest = raw[key.end() :]
                if rest.lstrip().startswith("{"):
                    for inner in _INLINE_KEY.finditer(rest):
                        lines.setdefault((*path, inner.group(1).strip('"')), number)
        return cls(lines)

    @classmethod
    def for_yaml(cls, text: str) -> Locator:
        lines: dict[Path, int] = {}
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError:
            return cls.empty()

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

        walk(root, ())
        return cls(lines)


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """Lines outside multi-line strings, numbered from 1."""
    in_string: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        if in_string:
            if raw.count(in_string) % 2 == 1:
                in_string = None
            continue
        for quote in ('"""', "'''"):
            if raw.count(quote) % 2 == 1:
                in_string = quote
        yield number, raw
