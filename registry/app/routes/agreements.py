"""``/v1/agreements`` and ``/v1/parties``: read, create or amend, change status."""

from __future__ import annotations

import datetime
import re
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post, put
from litestar.datastructures import State
from litestar.exceptions import ClientException
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, QueryParameter, RawBody

from ...engine.limits import shifted
from ...errors import InvalidInput
from ...schemas import (
    Agreement,
    AgreementRecord,
    AgreementSummary,
    HistoryEntry,
    LoadOutcome,
    PartiesFile,
    Party,
    Review,
    StatusEvent,
    VersionInfo,
)
from ...schemas.access import Principal
from ...schemas.types import VERSION_NUMBER, AgreementStatus
from ..auth import EDITORS, READERS, REVIEWERS, allow
from ..bodies import decode, documented, schema_of
from ..errors import answers
from ..views import DiffView, ReviewBody, StatusChangeBody
from . import AgreementFilter, registry_of

# A document body is TOML (as in agreements/), YAML or JSON.
FORMATS = {
    "application/toml": "toml",
    "text/toml": "toml",
    "application/yaml": "yaml",
    "application/x-yaml": "yaml",
    "text/yaml": "yaml",
    "application/json": "json",
}


def _format(request: Request[Any, Any, Any]) -> str:
    media = request.headers.get("content-type", "application/json").split(";")[0].strip()
    fmt = FORMATS.get(media.lower())
    if fmt is None:
        raise ClientException(
            f"send the document as one of {', '.join(FORMATS)}, not {media!r}", status_code=415
        )
    return fmt


_VERSION = re.compile(VERSION_NUMBER)


def _if_match(request: Request[Any, Any, Any]) -> int:
    """The version the caller is amending (If-Match), or 0 when it creates (no header)."""
    header = request.headers.get("if-match")
    if header is None:
        return 0
    value = header.strip().removeprefix("W/").strip('"')
    if not _VERSION.fullmatch(value):
        raise InvalidInput(
            f'If-Match must be the version you are amending, such as "2", not {header!r}'
        )
    return int(value)


def _etag(version: int) -> dict[str, str]:
    return {"ETag": f'"{version}"'}


AGREEMENT_BODY = documented(
    {
        "application/json": schema_of(Agreement),
        "application/toml": {"type": "string", "description": "an agreement file, as TOML"},
    },
    "The whole agreement document, as in an agreement file (TOML, YAML or JSON).",
)
PARTIES_BODY = documented(
    {
        "application/json": schema_of(PartiesFile),
        "application/toml": {"type": "string", "description": "a parties file, as TOML"},
    },
    "A parties file: [[party]] tables (TOML, YAML or JSON).",
)
CREATED = ResponseSpec(LoadOutcome, description="Created: version 1.", generate_examples=False)
REVIEW_BODY = documented(
    {"application/json": schema_of(ReviewBody)},
    "The outcome (renew, amend, let-expire, terminate), a note, the next review date, and "
    "optionally the day of the review (default: today).",
)
STATUS_BODY = documented(
    {"application/json": schema_of(StatusChangeBody)}, "The date from which, and why."
)


class AgreementController(Controller):
    path = "/v1/agreements"
    tags = ["agreements"]  # noqa: RUF012 - litestar reads a list

    @get("/", guards=[allow(*READERS)], sync_to_thread=True, responses=answers(400, 403))
    def list_agreements(
        self,
        state: State,
        status: FromQuery[AgreementStatus | None] = None,
        party: AgreementFilter = None,
        expiring_within: Annotated[int | None, QueryParameter(ge=0, le=36_500)] = None,
        on: FromQuery[datetime.date | None] = None,
    ) -> list[AgreementSummary]:
        """Agreements with their status on ``on`` (today by default), filtered by status,
        by a party (discloser or recipient), or by expiry within N days."""
        day = on or datetime.date.today()
        rows = registry_of(state).list_agreements(day)
        if status is not None:
            rows = [r for r in rows if r.status == status]
        if party is not None:
            rows = [r for r in rows if party == r.discloser or party in r.recipients]
        if expiring_within is not None:
            last = shifted(day, expiring_within)
            rows = [r for r in rows if day <= r.term_end <= last]  # as the expiring list
        return rows

    @get(
        "/{agreement_id:str}",
        guards=[allow(*READERS)],
        sync_to_thread=True,
        responses=answers(400, 403, 404),
    )
    def show(
        self,
        state: State,
        agreement_id: FromPath[str],
        version: Annotated[int | None, QueryParameter(ge=1, le=2**31)] = None,
        on: FromQuery[datetime.date | None] = None,
    ) -> Response[AgreementRecord]:
        """One version: the current one, the one given, or the one in force on ``on``.
        The ETag is the current version, for If-Match on an amendment."""
        record = registry_of(state).agreement(agreement_id, version, on)
        return Response(record, headers=_etag(record.current_version))

    @get(
        "/{agreement_id:str}/versions",
        guards=[allow(*READERS)],
        sync_to_thread=True,
        responses=answers(403, 404),
    )
    def versions(self, state: State, agreement_id: FromPath[str]) -> list[VersionInfo]:
        """Every version, oldest first; none is ever overwritten or deleted."""
        return registry_of(state).versions(agreement_id)

    @get(
        "/{agreement_id:str}/history",
        guards=[allow(*READERS)],
        sync_to_thread=True,
        responses=answers(403, 404),
    )
    def history(self, state: State, agreement_id: FromPath[str]) -> list[HistoryEntry]:
        """Versions and status events, with who recorded each."""
        return registry_of(state).history(agreement_id)

    @get(
        "/{agreement_id:str}/diff",
        guards=[allow(*READERS)],
        sync_to_thread=True,
        responses=answers(400, 403, 404),
    )
    def diff(
        self,
        state: State,
        agreement_id: FromPath[str],
        from_version: Annotated[int | None, QueryParameter(name="from", ge=1, le=2**31)] = None,
        to_version: Annotated[int | None, QueryParameter(name="to", ge=1, le=2**31)] = None,
    ) -> DiffView:
        """What changed between two versions, in words (default: the last amendment)."""
        old, new, changes = registry_of(state).diff(agreement_id, from_version, to_version)
        return DiffView(
            agreement=agreement_id, from_version=old, to_version=new, changes=tuple(changes)
        )

    @put(
        "/{agreement_id:str}",
        guards=[allow(*EDITORS)],
        sync_to_thread=True,
        operation_class=AGREEMENT_BODY,
        status_code=200,
        responses={**answers(400, 403, 409, 413, 415), 201: CREATED},
    )
    def save(
        self,
        request: Request[Principal, str, State],
        state: State,
        agreement_id: FromPath[str],
        body: RawBody,
    ) -> Response[LoadOutcome]:
        """Create an agreement (no If-Match) or amend it (If-Match: the version you read).
        A conflicting change gets 409; every problem in the document gets 400."""
        expected = _if_match(request)
        saved, _ = registry_of(state).save_document(
            body,
            _format(request),
            source=f"PUT /v1/agreements/{agreement_id}",
            recorded_by=request.user.actor,
            expected_id=agreement_id,
            expected_version=expected,
        )
        outcome = saved[0]
        status = 201 if outcome.action == "created" else 200
        return Response(outcome, status_code=status, headers=_etag(outcome.version))


def _status_route(action: str, status: AgreementStatus, doc: str) -> HTTPRouteHandler:
    """``POST /v1/agreements/{id}/<action>``: a dated status change, recorded with who
    made it."""

    @post(
        f"/v1/agreements/{{agreement_id:str}}/{action}",
        guards=[allow(*EDITORS)],
        sync_to_thread=True,
        operation_class=STATUS_BODY,
        operation_id=f"{action.title()}Agreement",
        name=f"agreement-{action}",
        summary=f"{action.title()} an agreement",
        description=doc,
        tags=["agreements"],
        status_code=200,
        responses=answers(400, 403, 404, 409, 413),
    )
    def change(
        request: Request[Principal, str, State],
        state: State,
        agreement_id: FromPath[str],
        body: RawBody,
    ) -> StatusEvent:
        given = decode(body, StatusChangeBody)
        return registry_of(state).set_status(
            agreement_id, status, given.on, given.reason, recorded_by=request.user.actor
        )

    return change


STATUS_ROUTES = [
    _status_route(
        "suspend",
        "suspended",
        "Suspend from a date: checks on or after it are denied until reinstated.",
    ),
    _status_route("reinstate", "active", "Make a suspended agreement active again from a date."),
    _status_route("terminate", "terminated", "Terminate from a date. Termination is final."),
]


@post(
    "/v1/agreements/{agreement_id:str}/reviews",
    guards=[allow(*REVIEWERS)],
    sync_to_thread=True,
    operation_class=REVIEW_BODY,
    tags=["agreements"],
    status_code=201,
    responses=answers(400, 403, 404, 409, 413),
)
def record_review(
    request: Request[Principal, str, State],
    state: State,
    agreement_id: FromPath[str],
    body: RawBody,
) -> Review:
    """Record a review of the agreement's current version; it leaves the due-for-review
    list until ``next_review``. 404 for an unknown agreement, 409 for a terminated one."""
    given = decode(body, ReviewBody)
    return registry_of(state).record_review(
        agreement_id,
        outcome=given.outcome,
        note=given.note,
        next_review=given.next_review,
        reviewed_on=given.reviewed_on,
        recorded_by=request.user.actor,
    )


@get(
    "/v1/agreements/{agreement_id:str}/reviews",
    guards=[allow(*READERS)],
    sync_to_thread=True,
    tags=["agreements"],
    responses=answers(403, 404),
)
def list_reviews(state: State, agreement_id: FromPath[str]) -> list[Review]:
    """Every review of the agreement, in the order recorded."""
    return registry_of(state).reviews(agreement_id)


REVIEW_ROUTES = [record_review, list_reviews]


class PartyController(Controller):
    path = "/v1/parties"
    tags = ["parties"]  # noqa: RUF012 - litestar reads a list

    @get("/", guards=[allow(*READERS)], sync_to_thread=True, responses=answers(403))
    def list_parties(self, state: State) -> list[Party]:
        """Every party, with its postal address and safeguard status."""
        return sorted(registry_of(state).parties().values(), key=lambda p: p.id)

    @post(
        "/",
        guards=[allow(*EDITORS)],
        sync_to_thread=True,
        operation_class=PARTIES_BODY,
        status_code=200,
        responses=answers(400, 403, 409, 413, 415),
    )
    def save_parties(
        self, request: Request[Principal, str, State], state: State, body: RawBody
    ) -> list[LoadOutcome]:
        """Create or amend parties from a parties file (all or nothing)."""
        saved, _ = registry_of(state).save_document(
            body, _format(request), source="POST /v1/parties", recorded_by=request.user.actor
        )
        return saved
