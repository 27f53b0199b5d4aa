"""Lint agreement and party files: every problem in every file, at once.

Structural problems come from the documents themselves; then cross-file rules (duplicate
ids, unknown parties), then every installed checker's rules and the ``lint_agreement`` hook.
A broken plugin rule is reported as an error, never skipped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import msgspec

from ..documents import SourceDocument, structure_errors
from ..schemas import Agreement, PartiesFile, Party, Problem
from .checker import PLUGIN_FAILURES, LintContext, decode_table
from .plugins import Plugins


def lint(
    documents: list[SourceDocument],
    plugins: Plugins,
    known_parties: Mapping[str, Party] | None = None,
) -> list[Problem]:
    """Every problem of ``documents``, files in order, problems by line."""
    problems: list[Problem] = []
    for doc in documents:
        problems.extend(doc.problems)
    parties = dict(known_parties or {})
    parties.update(_file_parties(documents, problems))
    _duplicate_agreements(documents, problems)
    context = LintContext(parties=parties, checkers=plugins.names)
    for doc in documents:
        if isinstance(doc.value, Agreement):
            problems.extend(_agreement_problems(doc, doc.value, plugins, context))
    return sort_problems(problems)


def sort_problems(problems: Iterable[Problem]) -> list[Problem]:
    return sorted(
        problems,
        key=lambda p: (p.file or "", p.line or 0, p.severity != "error", p.field or ""),
    )


def has_errors(problems: Iterable[Problem]) -> bool:
    return any(p.severity == "error" for p in problems)


def _file_parties(documents: list[SourceDocument], problems: list[Problem]) -> dict[str, Party]:
    found: dict[str, tuple[Party, str]] = {}
    for doc in documents:
        if not isinstance(doc.value, PartiesFile):
            continue
        for index, party in enumerate(doc.value.party):
            if party.id in found:
                problems.append(
                    doc.problem(
                        "error",
                        "duplicate_id",
                        f"party '{party.id}' is defined twice (also in {found[party.id][1]})",
                        ("party", index, "id"),
                        "party ids are unique",
                    )
                )
                continue
            found[party.id] = (party, doc.path)
    return {pid: party for pid, (party, _) in found.items()}


def _duplicate_agreements(documents: list[SourceDocument], problems: list[Problem]) -> None:
    seen: dict[str, str] = {}
    for doc in documents:
        if isinstance(doc.value, Agreement):
            if doc.value.id in seen:
                problems.append(
                    doc.problem(
                        "error",
                        "duplicate_id",
                        f"agreement '{doc.value.id}' is also defined in {seen[doc.value.id]}",
                        ("id",),
                        "one agreement per id; amend the existing file instead",
                    )
                )
                doc.value = None
            else:
                seen[doc.value.id] = doc.path


def _agreement_problems(
    doc: SourceDocument, agreement: Agreement, plugins: Plugins, context: LintContext
) -> list[Problem]:
    out: list[Problem] = []
    for name, table in agreement.checkers.items():
        checker = plugins.checkers.get(name)
        if checker is None:
            out.append(
                doc.problem(
                    "error",
                    "unclaimed_table",
                    f"no installed plugin claims the table [checkers.{name}]",
                    ("checkers", name),
                    "installed checkers: " + ", ".join(sorted(plugins.names)),
                )
            )
        elif checker.config is None:
            out.append(
                doc.problem(
                    "error",
                    "unclaimed_table",
                    f"checker '{name}' takes no table",
                    ("checkers", name),
                    "remove the table",
                )
            )
        else:
            for path, message, hint in structure_errors(table, checker.config, ("checkers", name)):
                out.append(doc.problem("error", "schema", message, path, hint))
    for name, checker in plugins.checkers.items():
        try:
            config = decode_table(checker, agreement)
        except msgspec.ValidationError:
            continue  # already reported above
        out.extend(_guarded(doc, name, checker.lint, agreement, config, context))
    for impl in plugins.hook.lint_agreement.get_hookimpls():
        values = {"agreement": agreement, "context": context}
        kwargs = {arg: values[arg] for arg in impl.argnames if arg in values}
        out.extend(_guarded(doc, impl.plugin_name, impl.function, **kwargs))
    return out


def _guarded(
    doc: SourceDocument,
    plugin: str,
    rules: Callable[..., Any],
    *args: Any,
    **kwargs: Any,
) -> list[Problem]:
    """Run one plugin's lint rules; an exception becomes an error problem, not a pass."""
    try:
        found = list(rules(*args, **kwargs) or ())
        not_problems = [f for f in found if not isinstance(f, Problem)]
        if not_problems:
            raise TypeError(f"returned {type(not_problems[0]).__name__}, not Problem")
        return [_placed(doc, problem) for problem in found]
    except PLUGIN_FAILURES as exc:
        return [
            doc.problem(
                "error",
                "plugin_failed",
                f"lint rules of '{plugin}' failed: {type(exc).__name__}: {exc}",
            )
        ]


_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _placed(doc: SourceDocument, problem: Problem) -> Problem:
    """Give a plugin's problem its file and line."""
    path: list[str | int] = []
    for name, index in _PART.findall(problem.field or ""):
        path.append(int(index) if index else name)
    return msgspec.structs.replace(
        problem,
        file=problem.file or doc.path,
        line=problem.line or (doc.locator.line(path) if path else None),
    )
