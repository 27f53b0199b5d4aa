"""Route handlers, one module per resource. Handlers are thin: they check who is asking,
call :class:`registry.service.Registry` and return its Structs."""

from __future__ import annotations

import datetime
from typing import Annotated

from litestar.datastructures import State
from litestar.params import QueryParameter

from ...service import Registry

# Query parameters several routes take, declared once (and so documented alike).
AgreementFilter = Annotated[str | None, QueryParameter(max_length=120)]
PeriodFrom = Annotated[datetime.date | None, QueryParameter(name="from")]
PeriodTo = Annotated[datetime.date | None, QueryParameter(name="to")]
DaysAhead = Annotated[int, QueryParameter(ge=0, le=36_500)]
CSV = "text/csv; charset=utf-8"


def registry_of(state: State) -> Registry:
    return state.registry
