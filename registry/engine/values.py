"""Reading values out of requests and records: what counts as "missing"."""

from __future__ import annotations

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
