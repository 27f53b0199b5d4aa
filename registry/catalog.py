"""The agreements and parties a check reads, cached until the catalog counter moves."""

from __future__ import annotations

import dataclasses
import datetime

from .engine.decide import Candidate
from .schemas import Agreement, CheckRequest, Party
from .store.agreements import StoredAgreement


@dataclasses.dataclass(frozen=True)
class Catalog:
    revision: int
    agreements: dict[str, StoredAgreement]
    parties: dict[str, Party]

    def candidate(self, stored: StoredAgreement, on: datetime.date) -> Candidate:
        version = stored.in_force(on)
        return Candidate(
            agreement=version.agreement, version=version.version, status=stored.status_on(on)
        )

    def candidates(self, request: CheckRequest, on: datetime.date) -> list[Candidate] | None:
        """The named agreement (None when unknown), or every agreement whose version in
        force names the source system and the recipient, in id order."""
        if request.agreement is not None:
            stored = self.agreements.get(request.agreement)
            return None if stored is None else [self.candidate(stored, on)]
        found = []
        for stored in self.agreements.values():
            candidate = self.candidate(stored, on)
            terms = candidate.agreement
            if (
                request.source_system in terms.source_systems
                and request.recipient in terms.recipients
            ):
                found.append(candidate)
        return sorted(found, key=lambda c: c.agreement.id)

    def received_under(
        self, request: CheckRequest, on: datetime.date
    ) -> dict[str, Agreement | None]:
        """The agreements the data was first received under, as in force on ``on``."""
        out: dict[str, Agreement | None] = {}
        for agreement_id in request.received_under:
            stored = self.agreements.get(agreement_id)
            out[agreement_id] = None if stored is None else stored.in_force(on).agreement
        return out
