"""The pages people read: the dashboard, an agreement, a decision, and the disclosure
search. Each calls :class:`registry.service.Registry` and renders a template."""

from __future__ import annotations

import collections
import datetime
from typing import Annotated, Any

import msgspec
from litestar import MediaType, Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath, QueryParameter

from ...errors import InvalidInput
from ...schemas.access import Principal
from ..auth import AUDITORS, READERS, allow
from ..errors import answers
from ..routes import registry_of
from .render import check_form, page, wants_html
from .session import Form

Days = Annotated[int, QueryParameter(ge=0, le=36_500)]
Version = Annotated[int | None, QueryParameter(ge=1, le=2**31)]


@get(
    "/",
    media_type=MediaType.HTML,
    guards=[allow(*READERS)],
    sync_to_thread=True,
    responses=answers(400, 403),
)
def dashboard(
    request: Request[Principal, str, State],
    state: State,
    within: Days = 90,
    as_of: Annotated[datetime.date | None, QueryParameter(name="as_of")] = None,
) -> Response[str]:
    """What needs looking at: agreements expiring or due for review, recent denials with
    their reasons, and how many agreements are in each status; as of today, or of
    ``as_of`` (a reviewer planning ahead)."""
    registry = registry_of(state)
    today = as_of or datetime.date.today()
    agreements = sorted(registry.list_agreements(today), key=lambda a: a.id)
    counts = collections.Counter(a.status for a in agreements)
    return page(
        request,
        "dashboard.html",
        today=today,
        within=within,
        expiring=registry.expiring(within, today),
        denials=registry.decisions(allowed=False, limit=10),
        agreements=agreements,
        counts=sorted(counts.items()),
    )


def agreement_page(
    request: Request[Principal, str, State],
    state: State,
    agreement_id: str,
    *,
    version: int | None = None,
    diff_from: int | None = None,
    diff_to: int | None = None,
    status: int = 200,
    **context: Any,
) -> Response[str]:
    """The agreement page; the review form re-renders it with its problems."""
    registry = registry_of(state)
    record = registry.agreement(agreement_id, version)
    stored = registry.stored(agreement_id)
    diff = None
    if record.current_version > 1 or diff_from is not None or diff_to is not None:
        old, new, changes = registry.diff(agreement_id, diff_from, diff_to)
        diff = {"old": old, "new": new, "changes": changes}
    context.setdefault("errors", {})
    context.setdefault("values", {})
    context.setdefault("problem", None)
    return page(
        request,
        "agreement.html",
        status=status,
        record=record,
        terms=msgspec.to_builtins(record.agreement),
        terminated=stored.terminated,
        versions=registry.versions(agreement_id),
        history=list(reversed(registry.history(agreement_id))),
        reviews=registry.reviews(agreement_id),
        decisions=registry.decisions(agreement=agreement_id, limit=20),
        diff=diff,
        reviewed=request.query_params.get("reviewed") == "1",
        **context,
    )


@get(
    "/agreements/{agreement_id:str}",
    media_type=MediaType.HTML,
    guards=[allow(*READERS)],
    sync_to_thread=True,
    responses=answers(400, 403, 404),
)
def agreement(
    request: Request[Principal, str, State],
    state: State,
    agreement_id: FromPath[str],
    version: Version = None,
    diff_from: Annotated[int | None, QueryParameter(name="from", ge=1, le=2**31)] = None,
    diff_to: Annotated[int | None, QueryParameter(name="to", ge=1, le=2**31)] = None,
) -> Response[str]:
    """One agreement: its terms, versions with what changed between two of them, its
    history (versions, status changes, reviews), and the decisions made under it. Reviewers,
    legal staff and operators also get the form to record a review."""
    return agreement_page(
        request, state, agreement_id, version=version, diff_from=diff_from, diff_to=diff_to
    )


@get(
    "/decisions/{decision_id:str}",
    media_type=MediaType.HTML,
    guards=[allow(*READERS)],
    sync_to_thread=True,
    responses=answers(403, 404),
)
def decision(
    request: Request[Principal, str, State], state: State, decision_id: FromPath[str]
) -> Response[str]:
    """One decision: allowed or denied, every reason, and what was asked."""
    return page(request, "decision.html", decision=registry_of(state).decision(decision_id))


@get(
    "/disclosures",
    media_type=MediaType.HTML,
    guards=[allow(*AUDITORS)],
    sync_to_thread=True,
    responses=answers(403),
)
def disclosure_search(request: Request[Principal, str, State], state: State) -> Response[str]:
    """The search form for disclosures about one person, and totals per agreement."""
    return page(
        request,
        "disclosures.html",
        summary=registry_of(state).disclosure_summary(),
        found=None,
        problem=None,
    )


@post(
    "/disclosures",
    media_type=MediaType.HTML,
    guards=[allow(*AUDITORS)],
    sync_to_thread=True,
    status_code=200,
    responses=answers(400, 403),
)
def disclosures_found(
    request: Request[Principal, str, State], state: State, data: Form
) -> Response[str]:
    """Every disclosure about the person whose identifier was posted (posted, so that it
    never appears in a URL, a log or the browser's history)."""
    check_form(request, data)
    registry = registry_of(state)
    found, problem = None, None
    try:
        found = registry.disclosures(subject=data.get("subject", "").strip())
    except InvalidInput as exc:
        if not wants_html(request):
            raise
        problem = str(exc)
    return page(
        request,
        "disclosures.html",
        status=400 if problem else 200,
        summary=registry.disclosure_summary(),
        found=found,
        problem=problem,
    )


PAGE_ROUTES = [dashboard, agreement, decision, disclosure_search, disclosures_found]
__all__ = ["PAGE_ROUTES", "agreement_page"]
