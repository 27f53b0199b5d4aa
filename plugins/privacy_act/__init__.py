"""Checker for computer matching agreements under the Privacy Act, 5 U.S.C. 552a(o).

Lint rules (this module) read the agreement's ``[checkers.privacy_act]`` table, whose
schema is :class:`PrivacyActConfig`.
"""

from __future__ import annotations

import calendar
import datetime
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import msgspec

from registry import Agreement, Checker, Finding, LintContext, Problem, Transfer, hookimpl
from registry.schemas.types import ShortText, Slug

TERM_MONTHS = 18
CONGRESS_WAIT_DAYS = 30
RENEWAL_WINDOW_MONTHS = 3
RENEWAL_MAX_MONTHS = 12


class Renewal(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """A renewal by the Data Integrity Board under 5 U.S.C. 552a(o)(2)(D)."""

    recorded: datetime.date
    extends_to: datetime.date
    changes: tuple[ShortText, ...] = ()
    certified_by: tuple[Slug, ...] = ()


class PrivacyActConfig(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """The ``[checkers.privacy_act]`` table."""

    transmitted_to_congress: datetime.date | None = None
    renewals: tuple[Renewal, ...] = ()


def add_months(day: datetime.date, months: int) -> datetime.date:
    """``day`` plus calendar months, clamped to the end of a shorter month."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return day.replace(
        year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1])
    )


def longest_expiry(agreement: Agreement) -> datetime.date:
    """5 U.S.C. 552a(o)(2)(C): a matching agreement remains in effect at most 18 months."""
    return add_months(agreement.effective, TERM_MONTHS) - datetime.timedelta(days=1)


def renewal_problems(agreement: Agreement, renewal: Renewal, index: int) -> list[str]:
    """Why ``renewal`` does not meet 5 U.S.C. 552a(o)(2)(D); empty when it is valid.

    Within the 3 months before expiry the Data Integrity Board may renew, for at most one
    more year, a program conducted without change, when each party certifies in writing
    that it was conducted in compliance with the agreement. Only one renewal is allowed.
    """
    reasons = []
    window_opens = add_months(agreement.expires, -RENEWAL_WINDOW_MONTHS)
    if index > 0:
        reasons.append("only one renewal is allowed; a further term needs a new agreement")
    if not window_opens <= renewal.recorded <= agreement.expires:
        reasons.append(
            f"recorded on {renewal.recorded}, outside the 3 months before expiry "
            f"({window_opens} to {agreement.expires})"
        )
    latest = add_months(agreement.expires, RENEWAL_MAX_MONTHS)
    if not agreement.expires < renewal.extends_to <= latest:
        reasons.append(
            f"extends_to {renewal.extends_to} is not after {agreement.expires} "
            f"and on or before {latest} (one year at most)"
        )
    if renewal.changes:
        reasons.append("the program changed (" + "; ".join(renewal.changes) + ")")
    parties = {agreement.discloser, *agreement.recipients}
    missing = sorted(parties - set(renewal.certified_by))
    if missing:
        reasons.append("no written certification from " + ", ".join(missing))
    return reasons


def applies(agreement: Agreement) -> bool:
    return agreement.kind == "cma" or "privacy_act" in agreement.required_checkers


class PrivacyActChecker(Checker):
    """5 U.S.C. 552a(o): computer matching agreements."""

    name = "privacy_act"
    description = "5 U.S.C. 552a(o): matching agreement term, Congress wait, renewals."
    config = PrivacyActConfig
    reason_codes: ClassVar[Mapping[str, str]] = {
        "renewal_invalid": "a check after the original expiry relies on an invalid renewal",
    }

    def term_end(
        self, agreement: Agreement, config: PrivacyActConfig | None
    ) -> datetime.date | None:
        """5 U.S.C. 552a(o)(2)(D): a valid renewal extends the agreement, once, by at most a
        year; an invalid one extends nothing."""
        if not applies(agreement) or config is None or not config.renewals:
            return None
        first = config.renewals[0]
        return first.extends_to if not renewal_problems(agreement, first, 0) else None

    def check_transfer(self, transfer: Transfer, prepared: Any) -> Iterator[Finding]:
        """After the original expiry, name the invalid renewal the transfer relies on."""
        agreement = transfer.agreement
        if not applies(agreement) or prepared is None or transfer.on <= transfer.term_end:
            return  # in force, or extended by a valid renewal
        for index, renewal in enumerate(prepared.renewals):
            reasons = renewal_problems(agreement, renewal, index)
            if reasons:
                yield Finding(
                    "renewal_invalid",
                    f"{agreement.id} expired on {agreement.expires}; its renewal recorded on "
                    f"{renewal.recorded} is invalid under 5 U.S.C. 552a(o)(2)(D): "
                    + "; ".join(reasons),
                    f"checkers.privacy_act.renewals[{index}]",
                )

    def review_flags(
        self, agreement: Agreement, config: Any, as_of: datetime.date
    ) -> Iterator[str]:
        """The 3 months before expiry, while no valid renewal is recorded, are when the Data
        Integrity Board may renew (5 U.S.C. 552a(o)(2)(D))."""
        if not applies(agreement):
            return
        opens = add_months(agreement.expires, -RENEWAL_WINDOW_MONTHS)
        if opens <= as_of <= agreement.expires and self.term_end(agreement, config) is None:
            yield "renewal_window_open"

    def lint(
        self, agreement: Agreement, config: PrivacyActConfig | None, context: LintContext
    ) -> Iterator[Problem]:
        if not applies(agreement):
            return
        config = config or PrivacyActConfig()
        longest = longest_expiry(agreement)
        if agreement.expires > longest:
            yield self.problem(
                "error",
                "term",
                f"a matching agreement may run at most 18 months (5 U.S.C. 552a(o)(2)(C)): "
                f"expires {agreement.expires} is after {longest}",
                "expires",
                f"on or before {longest}; extend by renewal instead",
            )
        if config.transmitted_to_congress is None:
            yield self.problem(
                "error",
                "transmittal_missing",
                "transmitted_to_congress is missing: a matching agreement takes effect only "
                "30 days after its transmittal to Congress (5 U.S.C. 552a(o)(2)(B))",
                "checkers.privacy_act.transmitted_to_congress",
            )
        else:
            earliest = config.transmitted_to_congress + datetime.timedelta(days=CONGRESS_WAIT_DAYS)
            if agreement.effective < earliest:
                yield self.problem(
                    "error",
                    "congress_wait",
                    f"effective {agreement.effective} is less than 30 days after transmittal "
                    f"to Congress on {config.transmitted_to_congress} (5 U.S.C. 552a(o)(2)(B))",
                    "effective",
                    f"on or after {earliest}",
                )
        for index, renewal in enumerate(config.renewals):
            for reason in renewal_problems(agreement, renewal, index):
                yield self.problem(
                    "warning",
                    "renewal_invalid",
                    "renewal is invalid under 5 U.S.C. 552a(o)(2)(D) and extends nothing: "
                    + reason,
                    f"checkers.privacy_act.renewals[{index}]",
                )


@hookimpl
def register_checkers() -> list[Checker]:
    return [PrivacyActChecker()]
