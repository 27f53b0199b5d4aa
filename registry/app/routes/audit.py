"""``/v1/decisions`` and ``/v1/disclosures``: the log, its verification, and the
disclosure accounting. A system token sees and cancels only its own system's decisions."""

from __future__ import annotations

import datetime
from typing import Annotated

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery, QueryParameter, RawBody

from ... import reports
from ...errors import NotFound
from ...reports import AuditReport
from ...schemas import Decision, DisclosureEntry, DisclosureSummary
from ...schemas.access import Principal
from ...store.verify import Verification
from ..auth import AUDITORS, CHECKERS, LOG_READERS, allow
from ..bodies import decode, documented, schema_of
from ..errors import answers
from ..views import CancelBody, SubjectQuery
from . import CSV, AgreementFilter, PeriodFrom, PeriodTo, registry_of

Limit = Annotated[int, QueryParameter(ge=1, le=10_000)]
CANCEL_BODY = documented(
    {"application/json": schema_of(CancelBody)}, "Why the export did not happen."
)
SUBJECT_BODY = documented(
    {"application/json": schema_of(SubjectQuery)},
    "The person's identifier (such as a TIN), in the body so it stays out of URLs and logs.",
)


def _own(principal: Principal, decision: Decision) -> Decision:
    """A system token may see only its own system's decisions; others are 'not found'."""
    if principal.role == "system" and decision.source_system != principal.system:
        raise NotFound(f"no decision '{decision.decision_id}'")
    return decision


class DecisionController(Controller):
    path = "/v1/decisions"
    tags = ["decisions"]  # noqa: RUF012 - litestar reads a list

    @get("/", guards=[allow(*LOG_READERS)], sync_to_thread=True, responses=answers(400, 403))
    def list_decisions(
        self,
        request: Request[Principal, str, State],
        state: State,
        agreement: AgreementFilter = None,
        allowed: FromQuery[bool | None] = None,
        since: FromQuery[datetime.date | None] = None,
        until: FromQuery[datetime.date | None] = None,
        limit: Limit = 100,
    ) -> list[Decision]:
        """Decisions, newest first, filtered by agreement, outcome and check date."""
        principal = request.user
        return registry_of(state).decisions(
            agreement=agreement,
            allowed=allowed,
            since=since,
            until=until,
            limit=limit,
            source_system=principal.system if principal.role == "system" else None,
        )

    @get("/verify", guards=[allow(*AUDITORS)], sync_to_thread=True, responses=answers(403))
    def verify(self, state: State) -> Verification:
        """Walk the hash chain; ``problem`` names the first altered or missing entry."""
        return registry_of(state).verify()

    @get(
        "/{decision_id:str}",
        guards=[allow(*LOG_READERS)],
        sync_to_thread=True,
        responses=answers(403, 404),
    )
    def show(
        self, request: Request[Principal, str, State], state: State, decision_id: FromPath[str]
    ) -> Decision:
        """One decision with every reason, whether it was cancelled, and (allowed and not
        cancelled) its receipt, signed again: the same receipt while the key is the same."""
        registry = registry_of(state)
        decision = _own(request.user, registry.decision(decision_id))
        if decision.allowed and not decision.cancelled:
            decision = msgspec.structs.replace(decision, receipt=registry.receipt_for(decision_id))
        return decision

    @post(
        "/{decision_id:str}/cancel",
        guards=[allow(*CHECKERS)],
        sync_to_thread=True,
        operation_class=CANCEL_BODY,
        status_code=200,
        responses=answers(400, 403, 404, 409, 413),
    )
    def cancel(
        self,
        request: Request[Principal, str, State],
        state: State,
        decision_id: FromPath[str],
        body: RawBody,
    ) -> Decision:
        """Release an allowed decision whose export did not happen: its records no longer
        count toward limits and its disclosures are marked cancelled."""
        reason = decode(body, CancelBody).reason
        registry = registry_of(state)
        _own(request.user, registry.decision(decision_id))
        return registry.cancel(decision_id, reason, by=request.user.actor)


class DisclosureController(Controller):
    path = "/v1/disclosures"
    tags = ["disclosures"]  # noqa: RUF012 - litestar reads a list

    @get("/", guards=[allow(*AUDITORS)], sync_to_thread=True, responses=answers(400, 403))
    def list_disclosures(
        self,
        state: State,
        agreement: AgreementFilter = None,
        limit: Limit = 1000,
    ) -> list[DisclosureEntry]:
        """Disclosures, newest first, optionally under one agreement."""
        return registry_of(state).disclosures(agreement=agreement, limit=limit)

    @get("/summary", guards=[allow(*AUDITORS)], sync_to_thread=True, responses=answers(400, 403))
    def summary(self, state: State, agreement: AgreementFilter = None) -> list[DisclosureSummary]:
        """Per agreement: transfers, records and distinct people."""
        return registry_of(state).disclosure_summary(agreement)

    @post(
        "/search",
        guards=[allow(*AUDITORS)],
        sync_to_thread=True,
        operation_class=SUBJECT_BODY,
        status_code=200,
        responses=answers(400, 403, 413),
    )
    def by_person(self, state: State, body: RawBody) -> list[DisclosureEntry]:
        """Every disclosure about one person: date, recipient's name and address, purpose,
        authority, agreement and version."""
        return registry_of(state).disclosures(subject=decode(body, SubjectQuery).subject)


class ReportController(Controller):
    path = "/v1/reports"
    tags = ["reports"]  # noqa: RUF012 - litestar reads a list

    @get("/", guards=[allow(*AUDITORS)], sync_to_thread=True, responses=answers(400, 403))
    def report(
        self,
        state: State,
        agreement: AgreementFilter = None,
        first: PeriodFrom = None,
        last: PeriodTo = None,
    ) -> AuditReport:
        """The auditors' report for checks dated ``from .. to``: the decision log's tamper
        check with its result, disclosures per agreement (transfers, records, distinct
        people, recipients) and denials by reason."""
        return registry_of(state).report(agreement, first, last)

    @get(
        "/disclosures.csv",
        guards=[allow(*AUDITORS)],
        sync_to_thread=True,
        media_type=CSV,
        responses=answers(400, 403),
    )
    def disclosures_csv(
        self,
        state: State,
        agreement: AgreementFilter = None,
        first: PeriodFrom = None,
        last: PeriodTo = None,
    ) -> Response[str]:
        """Disclosures per agreement as CSV. The ``X-Log-Verified`` header carries the
        tamper check's result (``true`` or ``false``)."""
        found = registry_of(state).report(agreement, first, last)
        return _csv(found, reports.disclosures_csv(found.disclosures))

    @get(
        "/denials.csv",
        guards=[allow(*AUDITORS)],
        sync_to_thread=True,
        media_type=CSV,
        responses=answers(400, 403),
    )
    def denials_csv(
        self,
        state: State,
        agreement: AgreementFilter = None,
        first: PeriodFrom = None,
        last: PeriodTo = None,
    ) -> Response[str]:
        """Denied decisions by reason code (and agreement) as CSV, with ``X-Log-Verified``."""
        found = registry_of(state).report(agreement, first, last)
        return _csv(found, reports.denials_csv(found.denials))


def _csv(found: AuditReport, text: str) -> Response[str]:
    """A report table as CSV, with the log's tamper check in a header."""
    return Response(
        text,
        media_type=CSV,
        headers={"X-Log-Verified": str(found.log.ok).lower()},
    )
