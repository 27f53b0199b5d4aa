"""The checker base class that plugins subclass, and what lint and checks hand to it."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

import msgspec

from ..schemas import Agreement, CheckRequest, Party, Problem
from ..schemas.types import AgreementStatus

# What a plugin may raise and still only fail itself (a check denies with checker_failed,
# a lint rule gives an error): any exception, and also SystemExit and KeyboardInterrupt,
# which a plugin's own code could raise (``sys.exit`` in a library, say) and which would
# otherwise end the check, or the service's event loop, instead of denying.
PLUGIN_FAILURES = (Exception, SystemExit, KeyboardInterrupt)


@dataclasses.dataclass(frozen=True)
class LintContext:
    """What a lint rule may consult besides the agreement itself."""

    parties: Mapping[str, Party]
    checkers: frozenset[str]


class Finding(msgspec.Struct, frozen=True):
    """One objection of a checker.

    ``code`` is the checker's own code without its name (``address_incomplete``); the
    engine namespaces it (``irc6103.address_incomplete``). ``records`` holds 0-based record
    indexes for findings about records; the engine keeps the first 1,000 and the total.
    """

    code: str
    message: str
    field: str | None = None
    records: Sequence[int] | None = None


class Transfer(msgspec.Struct, frozen=True, kw_only=True):
    """What a checker sees of one check against one agreement version.

    Everything is decided by these values: checkers never read the clock or the database.
    """

    request: CheckRequest
    on: datetime.date
    record_count: int
    agreement: Agreement
    version: int
    status: AgreementStatus
    term_end: datetime.date
    parties: Mapping[str, Party]
    period_used: int
    received_under: Mapping[str, Agreement | None]


class Checker:
    """Base class of a checker plugin's checker.

    Subclasses set ``name`` (stable, lowercase), ``description``, ``reason_codes`` (code
    without the name prefix → meaning), and ``config`` (a msgspec Struct class for the
    agreement's ``[checkers.NAME]`` table, or None when the checker takes no table).

    A checker runs for a check when the agreement lists it in ``required_checkers``, has
    a ``[checkers.NAME]`` table for it, the source system is configured to require it, or
    the checker sets ``applies_to_all``. Every method must be pure and deterministic;
    an exception denies the transfer with ``checker_failed``.
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""
    config: ClassVar[type[msgspec.Struct] | None] = None
    reason_codes: ClassVar[Mapping[str, str]] = {}
    applies_to_all: ClassVar[bool] = False

    def prepare(self, agreement: Agreement, config: Any) -> Any:
        """Work done once per agreement version (compiled sets, patterns); the result is
        handed back to ``check_transfer`` and ``check_records`` as ``prepared``."""
        return config

    def check_transfer(self, transfer: Transfer, prepared: Any) -> Iterable[Finding]:
        """Objections to the transfer as a whole."""
        return ()

    def check_records(
        self, transfer: Transfer, prepared: Any, records: Sequence[Mapping[str, Any]], start: int
    ) -> Iterable[Finding]:
        """Objections to a batch of records; ``records[i]`` has index ``start + i``.

        Called once per batch (never once per record), so bulk checks stay fast.
        """
        return ()

    def term_end(self, agreement: Agreement, config: Any) -> datetime.date | None:
        """A later last day in force than ``expires``, when this checker's law extends
        the term (a valid renewal, say); None otherwise."""
        return None

    def review_flags(
        self, agreement: Agreement, config: Any, as_of: datetime.date
    ) -> Iterable[str]:
        """Flags shown on the expiring list (``renewal_window_open``), namespaced by the
        engine."""
        return ()

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


def decode_table(checker: Any, agreement: Agreement) -> Any:
    """The checker's ``[checkers.NAME]`` table of ``agreement``, decoded with its ``config``
    Struct; None when the agreement has none or the checker takes none. Raises
    ``msgspec.ValidationError`` when the table does not fit the schema."""
    config = getattr(checker, "config", None)
    if config is None or checker.name not in agreement.checkers:
        return None
    return msgspec.convert(agreement.checkers[checker.name], config)
