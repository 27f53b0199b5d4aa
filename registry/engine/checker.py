"""The checker base class that plugins subclass, and what lint hands to it."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import msgspec

from ..schemas import Agreement, Party, Problem


@dataclasses.dataclass(frozen=True)
class LintContext:
    """What a lint rule may consult besides the agreement itself."""

    parties: Mapping[str, Party]
    checkers: frozenset[str]


class Checker:
    """Base class of a checker plugin's checker.

    Subclasses set ``name`` (stable, lowercase), ``description``, ``reason_codes`` (code
    without the name prefix → meaning), and ``config`` (a msgspec Struct class for the
    agreement's ``[checkers.NAME]`` table, or None when the checker takes no table).
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""
    config: ClassVar[type[msgspec.Struct] | None] = None
    reason_codes: ClassVar[Mapping[str, str]] = {}

    def lint(self, agreement: Agreement, config: Any, context: LintContext) -> Iterable[Problem]:
        """Lint rules of this checker. ``config`` is the decoded table, or None if absent."""
        return ()

    def problem(
        self,
        severity: str,
        rule: str,
        message: str,
        field: str | None = None,
        hint: str | None = None,
    ) -> Problem:
        """A lint problem whose rule is namespaced by this checker's name."""
        return Problem(
            severity=severity,  # type: ignore[arg-type]
            rule=f"{self.name}.{rule}",
            message=message,
            field=field,
            hint=hint,
        )
