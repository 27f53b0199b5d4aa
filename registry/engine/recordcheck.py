"""A per-agreement function that says, fast, whether a record is certainly clean.

Generated from the agreement's required fields and its compiled field tree, it answers
True only when every required field is present (not missing) and every key of the record
is covered by a permitted field with nothing prohibited below. Anything else, including
anything unusual (a list where a table was expected), answers False, and the exact,
slower checks then run on that record and name what is wrong. The generated code only
embeds field names through ``repr`` (they are validated as ``[A-Za-z0-9_-]`` segments),
and constants are passed in, never spliced in as source.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .compiled import twin
from .fieldtree import CLEAN
from .subjects import is_identifier

compiled = twin("registry.engine._records")

_EMPTY = (str, list, dict, tuple)


def compile_check(
    required: tuple[tuple[str, tuple[str, ...]], ...],
    tree: dict[str, Any],
    subject_key: str | None = None,
) -> Callable[[Any], bool]:
    lines = ["def clean(record):", "    if type(record) is not dict:", "        return False"]
    constants: dict[str, Any] = {"_EMPTY": _EMPTY, "_identifier": is_identifier}
    if required:
        # one read of each table on the way ("taxpayer" once for taxpayer.name and .tin)
        lines.append("    try:")
        tables: dict[tuple[str, ...], str] = {(): "record"}
        for number, (_, parts) in enumerate(required):
            for depth in range(1, len(parts)):
                prefix = parts[:depth]
                if prefix not in tables:
                    tables[prefix] = f"n{len(tables)}"
                    lines.append(
                        f"        {tables[prefix]} = {tables[prefix[:-1]]}[{parts[depth - 1]!r}]"
                    )
            lines.append(f"        v{number} = {tables[parts[:-1]]}[{parts[-1]!r}]")
        lines += ["    except (KeyError, TypeError, IndexError):", "        return False"]
    for number, (field, _) in enumerate(required):
        lines += [
            f"    if (not v{number} and (v{number} is None or v{number} is False"
            f" or type(v{number}) in _EMPTY))"
            f" or (type(v{number}) is str and v{number}.isspace()):",
            "        return False",
        ]
        if field == subject_key:
            lines += [
                f"    if not (type(v{number}) is str and v{number}.isdigit()"
                f" and v{number}.isascii()) and not _identifier(v{number}):",
                "        return False",
            ]
    _tree_lines(tree, "record", lines, constants, [0])
    lines.append("    return True")
    namespace: dict[str, Any] = dict(constants)
    exec(compile("\n".join(lines), "<record check>", "exec"), namespace)
    clean: Callable[[Any], bool] = namespace["clean"]
    return clean


def _tree_lines(
    tree: dict[str, Any], name: str, lines: list[str], constants: dict[str, Any], counter: list[int]
) -> None:
    """Code checking that the keys of table ``name`` are all in ``tree``, recursively."""
    counter[0] += 1
    keys = f"_K{counter[0]}"
    constants[keys] = frozenset(key for key, node in tree.items() if node is not None)
    lines += [f"    if not {name}.keys() <= {keys}:", "        return False"]
    for key, node in tree.items():
        if node is CLEAN or node is None:
            continue  # None nodes were left out of the key set: their records go the slow way
        counter[0] += 1
        child = f"t{counter[0]}"
        lines += [
            f"    if {key!r} in {name}:",
            f"        {child} = {name}[{key!r}]",
            f"        if type({child}) is not dict or not {child}:",
            "            return False",
        ]
        nested: list[str] = []
        _tree_lines(node, child, nested, constants, counter)
        lines += ["    " + line for line in nested]
