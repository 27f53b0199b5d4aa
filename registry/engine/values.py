"""Reading values out of requests and records: dotted lookups and "missing"."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any


def is_missing(value: Any) -> bool:
    """Absent, null, an empty or blank string, an empty list or table, or ``false``."""
    if value is None or value is False:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, (list, tuple, dict)):
        return not value
    return False


def lookup(record: Mapping[str, Any], parts: tuple[str, ...]) -> Any:
    """The value at a dotted path split into ``parts``, or None."""
    current: Any = record
    for part in parts:
        if not isinstance(current, dict):
            return None
        current = current.get(part)
    return current


def leaf_paths(record: Mapping[str, Any], prefix: str = "") -> Iterator[str]:
    """Every dotted path to a value that is not a table; lists of tables are entered."""
    for key, value in record.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            yield from leaf_paths(value, path + ".")
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            for item in value:
                if isinstance(item, dict):
                    yield from leaf_paths(item, path + ".")
        else:
            yield path
