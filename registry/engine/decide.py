"""One check from request to decision, without the database.

The caller resolves the candidate agreement versions (the named agreement, or every
agreement naming the source system and recipient), feeds records in batches (or not at
all), then asks for the decision with the records already disclosed in each candidate's
period window. Records are checked before the period usage is known, so a bulk check
holds no lock while it reads millions of records.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from ..schemas import Agreement, CheckRequest, Decision, Party, Reason
from ..schemas.types import AgreementStatus
from .checker import Transfer
from .evaluate import CORE, Evaluator, Policy, RecordFindings


@dataclasses.dataclass(frozen=True, slots=True)
class Candidate:
    """An agreement version in force on the transfer date, with its status that day."""

    agreement: Agreement
    version: int
    status: AgreementStatus


@dataclasses.dataclass(slots=True)
class _Trial:
    candidate: Candidate
    policy: Policy
    runs: tuple[str, ...]
    missing: tuple[str, ...]
    records: RecordFindings


class Check:
    """A check in progress: candidates prepared, records fed, then decided."""

    __slots__ = (
        "evaluator",
        "not_found",
        "on",
        "parties",
        "received_under",
        "records_seen",
        "request",
        "trials",
    )

    def __init__(
        self,
        evaluator: Evaluator,
        request: CheckRequest,
        on: datetime.date,
        candidates: Sequence[Candidate] | None,
        parties: Mapping[str, Party],
        received_under: Mapping[str, Agreement | None],
    ) -> None:
        self.evaluator = evaluator
        self.request = request
        self.on = on
        self.parties = parties
        self.received_under = received_under
        self.not_found = candidates is None or (request.agreement is not None and not candidates)
        self.trials: list[_Trial] = []
        for candidate in candidates or ():
            policy = evaluator.policy(candidate.agreement, candidate.version)
            runs, missing = evaluator.checkers_for(policy, request.source_system)
            self.trials.append(_Trial(candidate, policy, runs, missing, RecordFindings()))
        self.records_seen = 0

    def transfer(self, trial: _Trial, record_count: int, period_used: int) -> Transfer:
        return Transfer(
            request=self.request,
            on=self.on,
            record_count=record_count,
            agreement=trial.candidate.agreement,
            version=trial.candidate.version,
            status=trial.candidate.status,
            term_end=trial.policy.term_end,
            parties=self.parties,
            period_used=period_used,
            received_under=self.received_under,
        )

    def feed(self, start: int, batch: Sequence[Mapping[str, Any]]) -> None:
        """Check one batch of records (``batch[i]`` has index ``start + i``)."""
        self.records_seen = max(self.records_seen, start + len(batch))
        for trial in self.trials:
            transfer = self.transfer(trial, self.request.record_count or self.records_seen, 0)
            self.evaluator.feed_records(
                trial.policy, transfer, trial.runs, trial.records, start, batch
            )

    def agreements(self) -> list[str]:
        return [t.candidate.agreement.id for t in self.trials]

    def decide(
        self,
        period_used: Mapping[str, int],
        record_count: int,
        decision_id: str,
        checked_at: datetime.datetime,
    ) -> Decision:
        """The decision, given the records already disclosed in each candidate's window."""
        base: dict[str, Any] = dict(
            decision_id=decision_id,
            checked_at=checked_at,
            on=self.on,
            record_count=record_count,
            source_system=self.request.source_system,
            recipient=self.request.recipient,
            purpose=self.request.purpose,
        )
        if self.not_found:
            reason = Reason(
                code="agreement_not_found",
                checker=CORE,
                message=f"no agreement '{self.request.agreement}'",
                field="agreement",
            )
            return Decision(
                allowed=False,
                agreement=self.request.agreement,
                agreement_version=None,
                checkers=(CORE,),
                reasons=(reason,),
                **base,
            )
        outcomes = []
        named = self.request.agreement is not None
        for trial in self.trials:
            used = period_used.get(trial.candidate.agreement.id, 0)
            transfer = self.transfer(trial, record_count, used)
            reasons = self.evaluator.transfer_reasons(
                trial.policy, transfer, trial.runs, trial.missing
            )
            if trial.records.any():
                reasons.extend(trial.records.reasons())
            if named or not reasons:  # a named agreement has one candidate
                return Decision(
                    allowed=not reasons,
                    agreement=trial.candidate.agreement.id,
                    agreement_version=trial.candidate.version,
                    checkers=trial.runs,
                    reasons=tuple(reasons),
                    **base,
                )
            outcomes.append((trial, reasons))
        return self._no_match(outcomes, base)

    def _no_match(
        self, outcomes: list[tuple[_Trial, list[Reason]]], base: dict[str, Any]
    ) -> Decision:
        request = self.request
        if outcomes:
            tried = ", ".join(t.candidate.agreement.id for t, _ in outcomes)
            message = f"no agreement allows this transfer (tried {tried})"
        else:
            message = (
                f"no agreement in force on {self.on} names source system "
                f"'{request.source_system}' and recipient '{request.recipient}'"
            )
        reasons = [Reason(code="no_matching_agreement", checker=CORE, message=message)]
        checkers: dict[str, None] = {CORE: None}
        for trial, found in outcomes:
            checkers.update(dict.fromkeys(trial.runs))
            agreement_id = trial.candidate.agreement.id
            reasons.extend(msgspec.structs.replace(r, agreement=agreement_id) for r in found)
        return Decision(
            allowed=False,
            agreement=None,
            agreement_version=None,
            checkers=tuple(checkers),
            reasons=tuple(reasons),
            **base,
        )
