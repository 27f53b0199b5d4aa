"""A compiled form of an agreement's permitted and prohibited fields, for walking records.

Most records carry the same few fields, all permitted. The tree answers "is everything
under this key permitted?" with one dictionary lookup per key, and falls back to the
exact, memoised verdict of every leaf only where the agreement is more detailed than
that (a prohibited pattern beneath a permitted field, or a key not covered at all).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .fields import pattern_matches, reaches_into, segments

CLEAN = True  # everything below is permitted and nothing below is prohibited

Verdict = tuple[str, str] | None


def build(permitted: tuple[str, ...], prohibited: tuple[str, ...]) -> dict[str, Any]:
    """Nested dicts of the permitted paths; CLEAN where nothing below needs a look."""
    tree: dict[str, Any] = {}
    for path in permitted:
        parts = segments(path)
        node = tree
        for part in parts[:-1]:
            child = node.get(part)
            if child is CLEAN:
                break
            node = node.setdefault(part, {})
        else:
            node[parts[-1]] = CLEAN
    _mark_prohibited(tree, "", prohibited)
    return tree


def _mark_prohibited(tree: dict[str, Any], prefix: str, prohibited: tuple[str, ...]) -> None:
    for key, child in list(tree.items()):
        path = prefix + key
        if child is CLEAN:
            touched = any(reaches_into(path, p) or pattern_matches(p, path) for p in prohibited)
            if touched:
                tree[key] = None  # walk every leaf below and ask for its verdict
        else:
            _mark_prohibited(child, path + ".", prohibited)


def walk(
    value: dict[str, Any],
    tree: dict[str, Any],
    prefix: str,
    verdict: Callable[[str], Verdict],
    found: Callable[[str, Verdict], None],
) -> None:
    """Report (via ``found``) every leaf path of ``value`` whose verdict is not None."""
    for key, sub in value.items():
        node = tree.get(key)
        if node is CLEAN:
            continue
        path = prefix + key
        if node is None:
            _leaves(sub, path, verdict, found)
        elif isinstance(sub, dict) and sub:
            walk(sub, node, path + ".", verdict, found)
        elif isinstance(sub, list) and any(isinstance(item, dict) for item in sub):
            for item in sub:
                if isinstance(item, dict) and item:
                    walk(item, node, path + ".", verdict, found)
                else:  # a scalar (or empty table) beside tables: a value of the path itself
                    result = verdict(path)
                    if result is not None:
                        found(path, result)
        else:
            result = verdict(path)
            if result is not None:
                found(path, result)


def _leaves(
    value: Any, path: str, verdict: Callable[[str], Verdict], found: Callable[[str, Verdict], None]
) -> None:
    if isinstance(value, dict) and value:
        for key, sub in value.items():
            _leaves(sub, f"{path}.{key}", verdict, found)
    elif isinstance(value, list) and any(isinstance(item, dict) for item in value):
        for item in value:
            _leaves(item, path, verdict, found)
    else:
        result = verdict(path)
        if result is not None:
            found(path, result)
