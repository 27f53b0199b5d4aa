"""Health, metrics, plugins, signing keys and the expiring list."""

from __future__ import annotations

import datetime
from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromQuery, QueryParameter, RawBody

from ... import __version__, calendar
from ...schemas import ExpiringRow
from ...schemas.receipt import PublicKey, ReceiptPayload
from ..auth import ANYONE, AUDITORS, READERS, allow
from ..bodies import decode, documented, schema_of
from ..errors import answers
from ..metrics import CONTENT_TYPE, Metrics
from ..views import Health, PluginView, ReceiptBody
from . import CSV, DaysAhead, registry_of

UNHEALTHY = {
    503: ResponseSpec(Health, description="The database does not answer.", generate_examples=False)
}
RECEIPT_BODY = documented({"application/json": schema_of(ReceiptBody)}, "The receipt to verify.")


@get("/health", tags=["service"], sync_to_thread=True, responses=UNHEALTHY)
def health(state: State) -> Response[Health]:
    """No token needed. 200 when the database answers, 503 when it does not."""
    try:
        registry_of(state).db.ping()
    except Exception:
        return Response(
            Health(status="unavailable", database="unreachable", version=__version__),
            status_code=503,
        )
    return Response(Health(status="ok", database="ok", version=__version__))


@get(
    "/metrics",
    tags=["service"],
    guards=[allow(*AUDITORS)],
    media_type=CONTENT_TYPE,
    responses=answers(403),
)
async def metrics(state: State) -> Response[bytes]:
    """Prometheus metrics of this worker process."""
    collected: Metrics = state.metrics
    return Response(collected.render(), media_type=CONTENT_TYPE)


class ServiceController(Controller):
    path = "/v1"
    tags = ["service"]  # noqa: RUF012 - litestar reads a list

    @get("/plugins", guards=[allow(*ANYONE)], sync_to_thread=False, responses=answers())
    def plugins(self, state: State) -> list[PluginView]:
        """The active checker plugins, where each came from, and their checkers."""
        return [
            PluginView(name=p.name, source=p.source, checkers=p.checkers)
            for p in registry_of(state).plugins.describe()
        ]

    @get("/keys", guards=[allow(*ANYONE)], sync_to_thread=True, responses=answers())
    def keys(self, state: State) -> list[PublicKey]:
        """The public keys that verify receipts, oldest first. A recipient or an auditor
        keeps them to verify receipts offline (``registry receipts verify``)."""
        return registry_of(state).public_keys()

    @post(
        "/receipts/verify",
        guards=[allow(*ANYONE)],
        sync_to_thread=True,
        operation_class=RECEIPT_BODY,
        status_code=200,
        responses=answers(400, 413),
    )
    def verify_receipt(self, state: State, body: RawBody) -> ReceiptPayload:
        """What a receipt vouches for, when one of this registry's keys signed it; 400
        naming what is wrong otherwise."""
        receipt = decode(body, ReceiptBody).receipt
        return registry_of(state).verify_receipt(receipt)

    @get("/expiring", guards=[allow(*READERS)], sync_to_thread=True, responses=answers(400, 403))
    def expiring(
        self,
        state: State,
        within: DaysAhead = 90,
        as_of: FromQuery[datetime.date | None] = None,
    ) -> list[ExpiringRow]:
        """Agreements expiring or due for review within ``within`` days of ``as_of``
        (today), soonest first; suspended ones included, terminated and expired not."""
        return registry_of(state).expiring(within, as_of)

    @get(
        "/expiring.csv",
        guards=[allow(*READERS)],
        sync_to_thread=True,
        media_type=CSV,
        responses=answers(400, 403),
    )
    def expiring_csv(
        self,
        state: State,
        within: DaysAhead = 90,
        as_of: FromQuery[datetime.date | None] = None,
    ) -> Response[str]:
        """The same list as CSV, one line an agreement."""
        rows = registry_of(state).expiring(within, as_of)
        return Response(
            calendar.to_csv(rows),
            media_type=CSV,
            headers={"Content-Disposition": 'attachment; filename="expiring.csv"'},
        )

    @get(
        "/expiring.ics",
        guards=[allow(*READERS)],
        sync_to_thread=True,
        media_type="text/calendar; charset=utf-8",
        responses=answers(400, 403),
    )
    def expiring_ics(
        self,
        state: State,
        within: DaysAhead = 365,
        token: Annotated[
            str | None,
            QueryParameter(
                description="The API token, for calendar programs that cannot send an "
                "Authorization header; use a reviewer token issued for the calendar alone",
                max_length=200,
            ),
        ] = None,
    ) -> Response[bytes]:
        """A subscribable iCalendar feed: for each agreement expiring or due for review
        within ``within`` days of today, an event on the day its review notice starts and
        one on the day it expires."""
        rows = registry_of(state).expiring(within, None)
        return Response(calendar.to_ics(rows), media_type="text/calendar; charset=utf-8")
