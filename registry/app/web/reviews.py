"""The review form: a reviewer records what should happen to an agreement and when to
look again. Bad input shows the form again with each problem next to its field, and
nothing is written."""

from __future__ import annotations

import datetime
import re

from litestar import Request, Response, post
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.response import Redirect

from ...errors import Conflict, InvalidInput
from ...schemas import Problem
from ...schemas.access import Principal
from ..auth import REVIEWERS, allow
from ..errors import answers
from ..routes import registry_of
from .pages import agreement_page
from .render import FOLLOWED, check_form, wants_html
from .session import Form

OUTCOMES = ("renew", "amend", "let-expire", "terminate")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
LABELS = {"next_review": "Next review", "reviewed_on": "Reviewed on"}


def _date(form: Form, field: str, errors: dict[str, str]) -> datetime.date | None:
    raw = form.get(field, "").strip()
    if not raw:
        return None
    try:
        if not ISO_DATE.fullmatch(raw):
            raise ValueError
        return datetime.date.fromisoformat(raw)
    except ValueError:
        errors[field] = (
            f"{LABELS[field]}: give a date as YYYY-MM-DD, such as 2027-06-01, not {raw!r}."
        )
        return None


@post(
    "/agreements/{agreement_id:str}/reviews",
    guards=[allow(*REVIEWERS)],
    sync_to_thread=True,
    status_code=303,
    responses={**answers(400, 403, 404, 409), **FOLLOWED},
)
def record_review(
    request: Request[Principal, str, State],
    state: State,
    agreement_id: FromPath[str],
    data: Form,
) -> Response[str]:
    """Record a review from the form, then show the agreement with the review in its
    history. 404 for an unknown agreement; a terminated one, or bad input, shows the
    agreement page again with the problem (409 or 400), and nothing is written."""
    check_form(request, data)
    errors: dict[str, str] = {}
    outcome = data.get("outcome", "")
    note = data.get("note", "")
    if outcome not in OUTCOMES:
        errors["outcome"] = "Outcome: choose renew, amend, let-expire or terminate."
    if not note.strip():
        errors["note"] = "Note: say in a few words why."
    next_review = _date(data, "next_review", errors)
    reviewed_on = _date(data, "reviewed_on", errors)
    if next_review is None and "next_review" not in errors:
        errors["next_review"] = "Next review: give the date to look at the agreement again."
    registry = registry_of(state)
    if not errors and next_review is not None:
        try:
            registry.record_review(
                agreement_id,
                outcome=outcome,
                note=note,
                next_review=next_review,
                reviewed_on=reviewed_on,
                recorded_by=request.user.actor,
            )
        except InvalidInput as exc:
            if not wants_html(request):
                raise
            errors = _by_field(exc)
        except Conflict as exc:
            if not wants_html(request):
                raise
            return agreement_page(
                request, state, agreement_id, status=409, problem=str(exc), values=dict(data)
            )
        else:
            return Redirect(f"/ui/agreements/{agreement_id}?reviewed=1", status_code=303)
    if not wants_html(request):
        raise _refused(errors)
    return agreement_page(
        request, state, agreement_id, status=400, errors=errors, values=dict(data)
    )


def _refused(errors: dict[str, str]) -> InvalidInput:
    """The form's problems as the API's 400, for a client that did not ask for a page."""
    problems = [
        Problem(severity="error", rule="review", message=message, field=field)
        for field, message in errors.items()
    ]
    return InvalidInput(" ".join(errors.values()), problems)


def _by_field(exc: InvalidInput) -> dict[str, str]:
    errors: dict[str, str] = {}
    for problem in exc.problems:
        if isinstance(problem, Problem):
            errors.setdefault(problem.field or "form", problem.message)
    return errors or {"form": str(exc)}


REVIEW_ROUTES = [record_review]
