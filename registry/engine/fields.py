"""Hierarchical field paths: coverage at dot boundaries and prohibited patterns."""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase


def segments(path: str) -> tuple[str, ...]:
    return tuple(path.split("."))


def covers(parent: str, field: str) -> bool:
    """True when ``parent`` is ``field`` or one of its ancestors, at a dot boundary.

    ``taxpayer.address`` covers ``taxpayer.address.zip`` but not ``taxpayer.address_history``.
    """
    return field == parent or field.startswith(parent + ".")


def covered_by_any(field: str, permitted: Iterable[str]) -> bool:
    return any(covers(parent, field) for parent in permitted)


def pattern_matches(pattern: str, field: str) -> bool:
    """True when ``field`` falls under the prohibited ``pattern``.

    Segments are compared one by one, ``*`` matching within a segment; the pattern
    covers everything below what it matches (``return.*`` matches ``return.wages`` and
    ``return.wages.box1``, not ``return`` itself nor ``returns.x``).
    """
    pattern_parts = segments(pattern)
    field_parts = segments(field)
    if len(field_parts) < len(pattern_parts):
        return False
    return all(fnmatchcase(f, p) for p, f in zip(pattern_parts, field_parts, strict=False))


def reaches_into(field: str, pattern: str) -> bool:
    """True when asking for ``field`` would include something ``pattern`` prohibits.

    Either the field falls under the pattern, or the field is an ancestor of what the
    pattern names (asking for ``return`` asks for ``return.wages`` too).
    """
    if pattern_matches(pattern, field):
        return True
    field_parts = segments(field)
    pattern_parts = segments(pattern)
    if len(field_parts) >= len(pattern_parts):
        return False
    return all(
        fnmatchcase(f, p)
        for f, p in zip(field_parts, pattern_parts[: len(field_parts)], strict=True)
    )


def prohibiting_pattern(field: str, prohibited: Iterable[str]) -> str | None:
    """The first prohibited pattern the field matches, if any."""
    return next((p for p in prohibited if pattern_matches(p, field)), None)
