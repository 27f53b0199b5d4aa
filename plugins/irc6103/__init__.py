"""Checker for disclosures of federal tax information under 26 U.S.C. 6103.

Lint rules (this module) and transfer checks read the agreement's ``[checkers.irc6103]``
table, whose schema is :class:`Irc6103Config`.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar

import msgspec

from registry import Agreement, Checker, Finding, LintContext, Problem, Transfer, hookimpl
from registry.engine.fields import covered_by_any, reaches_into
from registry.schemas.types import FieldPath, FieldPattern, SafeguardStatus, ShortText

from . import address
from .address import is_complete

SECTION_I2 = "6103(i)(2)"


class Irc6103Config(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """The ``[checkers.irc6103]`` table."""

    permitted_statutes: tuple[ShortText, ...] = ()
    """Non-tax criminal statutes a request may name as its statutory authority."""
    address_field: FieldPath | None = None
    """Record field holding the taxpayer's address, checked for completeness per record."""
    recipient_safeguards: tuple[SafeguardStatus, ...] = ("compliant", "cap_accepted")
    """Safeguard review outcomes (6103(p)(4)) under which the recipient may receive data."""
    taxpayer_return_information: tuple[FieldPattern, ...] = ("return.*",)
    """Fields holding information filed by or for the taxpayer (6103(b)(3))."""


def cites_i2(agreement: Agreement) -> bool:
    return any(SECTION_I2 in authority.replace(" ", "") for authority in agreement.legal_authority)


_STATUTE_PUNCTUATION = str.maketrans("", "", " .\u00a7\t")


@functools.lru_cache(maxsize=4096)
def statute_key(text: str) -> str:
    """ "8 U.S.C. 1253(a)(1)" and "8 USC 1253(a)(1)" compare equal. Remembered: requests
    name the same few statutes over and over."""
    return text.lower().translate(_STATUTE_PUNCTUATION)


@dataclasses.dataclass(frozen=True, slots=True)
class Prepared:
    config: Irc6103Config
    statutes: frozenset[str]
    address_parts: tuple[str, ...] | None


class Irc6103Checker(Checker):
    """26 U.S.C. 6103: confidentiality and disclosure of returns and return information."""

    name = "irc6103"
    description = "26 U.S.C. 6103: statutes, addresses, safeguards, return information."
    config = Irc6103Config
    reason_codes: ClassVar[Mapping[str, str]] = {
        "statute_not_permitted": "the request's statutory authority is not a permitted statute",
        "address_incomplete": "a record's address is not a complete street address",
        "safeguards_not_met": "the recipient's safeguard review status is not accepted",
    }

    def prepare(self, agreement: Agreement, config: Irc6103Config | None) -> Prepared:
        config = config or Irc6103Config()
        field = config.address_field
        return Prepared(
            config=config,
            statutes=frozenset(statute_key(s) for s in config.permitted_statutes),
            address_parts=tuple(field.split(".")) if field else None,
        )

    def check_transfer(self, transfer: Transfer, prepared: Prepared) -> Iterator[Finding]:
        """26 U.S.C. 6103(i)(2)(A): disclosure only for an investigation under a specifically
        designated non-tax Federal criminal statute, named in the request; 6103(p)(4): only
        to a recipient whose safeguards meet the IRS's requirements."""
        authority = transfer.request.request.get("statutory_authority")
        named = authority if isinstance(authority, list) else (authority,)
        if not authority or not all(
            isinstance(a, str) and statute_key(a) in prepared.statutes for a in named
        ):
            permitted = ", ".join(prepared.config.permitted_statutes) or "none"
            yield Finding(
                "statute_not_permitted",
                f"statutory authority {authority!r} is not a statute this agreement permits "
                f"(permitted: {permitted})",
                "request.statutory_authority",
            )
        recipient = transfer.parties.get(transfer.request.recipient)
        status = recipient.safeguards.status if recipient and recipient.safeguards else None
        if status not in prepared.config.recipient_safeguards:
            accepted = ", ".join(prepared.config.recipient_safeguards)
            yield Finding(
                "safeguards_not_met",
                f"recipient '{transfer.request.recipient}' safeguard review is "
                f"{status or 'not on record'}; this agreement accepts {accepted} "
                "(26 U.S.C. 6103(p)(4))",
                "recipient",
            )

    def check_records(
        self,
        transfer: Transfer,
        prepared: Prepared,
        records: Sequence[Mapping[str, Any]],
        start: int,
    ) -> Iterator[Finding]:
        """26 U.S.C. 6103(i)(2)(B)(i): each taxpayer's name and address, where the address is
        a street line with a number and a name (or a PO box), a city, a state and a ZIP."""
        parts = prepared.address_parts
        if parts is None:
            return
        bad = []
        for offset in address.suspects(records, parts):
            value: Any = records[offset]
            for part in parts:
                value = value.get(part) if isinstance(value, dict) else None
            if not is_complete(value):
                bad.append(start + offset)
        if bad:
            field = prepared.config.address_field
            yield Finding(
                "address_incomplete",
                f"'{field}' is not a complete address: a street line with a number and a name "
                "(or a PO box), a city, a state and a ZIP are needed; a ZIP alone, a "
                "placeholder or a TIN is not an address (26 U.S.C. 6103(i)(2)(B)(i))",
                field,
                bad,
            )

    def lint(
        self, agreement: Agreement, config: Irc6103Config | None, context: LintContext
    ) -> Iterator[Problem]:
        yield from self._return_information(agreement, config or Irc6103Config())
        if config is None:
            if self.name in agreement.required_checkers:
                yield self.problem(
                    "error",
                    "table_missing",
                    "irc6103 is required but the agreement has no [checkers.irc6103] table",
                    "required_checkers",
                    "add [checkers.irc6103] with permitted_statutes",
                )
            return
        if self.name in agreement.required_checkers and not config.permitted_statutes:
            yield self.problem(
                "warning",
                "statutes",
                "permitted_statutes is empty: every request will be denied",
                "checkers.irc6103.permitted_statutes",
            )
        if config.address_field and not covered_by_any(
            config.address_field, agreement.fields.permitted
        ):
            yield self.problem(
                "error",
                "address_field",
                f"address_field '{config.address_field}' is not a permitted field",
                "checkers.irc6103.address_field",
                "a field covered by fields.permitted",
            )
        if cites_i2(agreement) and not config.address_field:
            yield self.problem(
                "warning",
                "address_field",
                "a 6103(i)(2) request must give each taxpayer's name and address "
                "(6103(i)(2)(B)(i)); set address_field so addresses are checked",
                "checkers.irc6103",
            )
        for index, recipient in enumerate(agreement.recipients):
            party = context.parties.get(recipient)
            if party is not None and party.safeguards is None:
                yield self.problem(
                    "warning",
                    "safeguards",
                    f"recipient '{recipient}' has no safeguard review on record "
                    "(6103(p)(4)); checks will deny until one is recorded",
                    f"recipients[{index}]",
                )

    def _return_information(self, agreement: Agreement, config: Irc6103Config) -> Iterator[Problem]:
        """26 U.S.C. 6103(i)(2)(A) permits return information *other than* taxpayer return
        information; taxpayer return information (6103(b)(3)) needs an ex parte order under
        6103(i)(1). An agreement that cites 6103(i)(2) may not permit it."""
        if not cites_i2(agreement):
            return
        for index, field in enumerate(agreement.fields.permitted):
            for pattern in config.taxpayer_return_information:
                if reaches_into(field, pattern):
                    yield self.problem(
                        "error",
                        "taxpayer_return_information",
                        f"field '{field}' is taxpayer return information ('{pattern}'), "
                        "which is not disclosable under 26 U.S.C. 6103(i)(2)",
                        f"fields.permitted[{index}]",
                        "remove it, or seek an ex parte order under 6103(i)(1)",
                    )
                    break


@hookimpl
def register_checkers() -> list[Checker]:
    return [Irc6103Checker()]
