"""Properties (hypothesis) of dates at every boundary, on the registry's real path:
agreements written as TOML files and loaded, checks through ``Registry.check`` (and the
group commit's ``check_batch``), on SQLite and PostgreSQL.

- The term: a check on ``effective``-1 is not yet effective, on ``effective`` and on
  ``expires`` allowed, on ``expires``+1 expired.
- Versions: the highest-numbered version whose ``version_effective`` is on or before the
  check date decides, from that very day.
- Status: a suspension denies from its day, a reinstatement allows again from its day, whether
  written in the file (``[[status_changes]]``) or recorded through the API.
- Period limits: a check on D is allowed iff every window of ``period_days`` days containing D
  holds at most ``max_records_per_period`` records with it, counted from the disclosure
  accounting by a brute-force model.

Dates are drawn with a bias to the ends of months and years and to 29 February.
"""

from __future__ import annotations

import calendar
import datetime
import itertools
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import registry
from registry.checking import decode_request
from registry.engine.plugins import Plugins
from registry.schemas import Decision
from registry.service import Registry
from tests.checking.helpers import REQUEST, request
from tests.conftest import PARTIES, agreement_data

SETTINGS = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
DAY = datetime.timedelta(days=1)
FIELDS = ["taxpayer.name", "taxable_periods"]  # taxable_periods is the field versions toggle
IDS = itertools.count()


@pytest.fixture
def reg(db_url: str, plugins: Plugins, tmp_path: Path) -> Iterator[Registry]:
    """A registry on a fresh database (SQLite, then PostgreSQL) with the parties loaded;
    each example registers agreements of its own, under new ids."""
    opened = registry.connect(db_url, plugins=plugins)
    parties = tmp_path / "parties.toml"
    parties.write_text(tomli_w.dumps(PARTIES))
    opened.load([parties])
    try:
        yield opened
    finally:
        opened.close()


def _register(reg: Registry, folder: Path, data: dict[str, Any]) -> None:
    """Write the agreement's file and load it (a changed file amends: a new version)."""
    path = folder / f"{data['id']}.toml"
    path.write_text(tomli_w.dumps(data))
    reg.load([path])


def _agreement(
    effective: datetime.date,
    expires: datetime.date,
    *,
    taxable_periods: bool = True,
    **changes: Any,
) -> dict[str, Any]:
    """The test memorandum under a new id, its term ``effective`` .. ``expires``, with no
    limits unless given; ``taxable_periods`` says whether that field is permitted."""
    return agreement_data(
        id=f"b-{next(IDS)}",
        effective=effective,
        expires=expires,
        limits=changes.pop("limits", None),
        fields={"permitted": _permitted(taxable_periods), "prohibited": ["return.*"]},
        **changes,
    )


def _permitted(taxable_periods: bool) -> list[str]:
    base = ["taxpayer.name", "taxpayer.address", "taxpayer.tin"]
    return base + (["taxable_periods"] if taxable_periods else [])


def _check(reg: Registry, agreement: str, on: datetime.date, count: int = 1) -> Decision:
    return reg.check(_ask(agreement, on, count))


def _ask(agreement: str, on: datetime.date, count: int = 1) -> dict[str, Any]:
    signed = {**REQUEST["request"], "signed_by": "Director"}  # the test memorandum's signer
    return request(
        agreement=agreement, on=on.isoformat(), record_count=count, fields=FIELDS, request=signed
    )


def _codes(decision: Decision) -> set[str]:
    return {r.code for r in decision.reasons}


# --- dates -------------------------------------------------------------------------------

FIRST, LAST = datetime.date(2000, 1, 1), datetime.date(2099, 12, 31)
years = st.integers(min_value=FIRST.year, max_value=LAST.year)
months = st.integers(min_value=1, max_value=12)


def _month_end(year: int, month: int) -> datetime.date:
    return datetime.date(year, month, calendar.monthrange(year, month)[1])


boundary_days = st.one_of(
    st.builds(_month_end, years, months),  # 31 Dec, 30 Apr, 28 or 29 Feb, ...
    st.builds(lambda y, m: datetime.date(y, m, 1), years, months),  # the day after one
    st.builds(
        lambda y: datetime.date(y, 2, 29),
        years.filter(calendar.isleap),
    ),
)
days = st.one_of(st.dates(min_value=FIRST, max_value=LAST), boundary_days)


def _sorted(values: Sequence[datetime.date]) -> list[datetime.date]:
    return sorted(values)


terms = st.one_of(
    st.tuples(days, days).map(_sorted),
    days.map(lambda d: [d, d]),  # a term of one day
)


def _between(first: datetime.date, last: datetime.date) -> st.SearchStrategy[datetime.date]:
    """A day in ``first`` .. ``last``, often one of the ends or the day after the first."""
    ends = [first, last] + ([first + DAY] if first < last else [])
    return st.one_of(st.sampled_from(ends), st.dates(min_value=first, max_value=last))


# --- 1. the term -------------------------------------------------------------------------


@SETTINGS
@given(term=terms, probe=days)
def test_a_term_allows_exactly_from_effective_through_expires(
    reg: Registry, tmp_path: Path, term: list[datetime.date], probe: datetime.date
) -> None:
    effective, expires = term
    data = _agreement(effective, expires)
    _register(reg, tmp_path, data)

    def expected(on: datetime.date) -> set[str]:
        if on < effective:
            return {"agreement_not_yet_effective"}
        return {"agreement_expired"} if on > expires else set()

    for on in (effective - DAY, effective, expires, expires + DAY, probe):
        decision = _check(reg, data["id"], on)
        assert _codes(decision) == expected(on), on
        assert decision.allowed is (effective <= on <= expires), on
        assert decision.agreement_version == 1


# --- 2. versions -------------------------------------------------------------------------


@st.composite
def amended_terms(
    draw: st.DrawFn,
) -> tuple[datetime.date, datetime.date, list[datetime.date], datetime.date]:
    """A term of at least two days, the ``version_effective`` of 1 to 3 amendments inside
    it (after ``effective``, in any order), and a day to probe."""
    effective, expires = draw(st.tuples(days, days).map(_sorted).filter(lambda t: t[0] < t[1]))
    amendments = draw(st.lists(_between(effective + DAY, expires), min_size=1, max_size=3))
    return effective, expires, amendments, draw(_between(effective - DAY, expires + DAY))


@SETTINGS
@given(case=amended_terms(), permits_first=st.booleans())
def test_a_version_decides_from_its_version_effective_day(
    reg: Registry,
    tmp_path: Path,
    case: tuple[datetime.date, datetime.date, list[datetime.date], datetime.date],
    permits_first: bool,
) -> None:
    effective, expires, amendments, probe = case
    # Each version flips whether taxable_periods (which every check carries) is permitted.
    permits = {1: permits_first}
    data = _agreement(effective, expires, taxable_periods=permits_first)
    _register(reg, tmp_path, data)
    in_force_from = {1: effective}
    for number, version_effective in enumerate(amendments, start=2):
        permits[number] = not permits[number - 1]
        data = {
            **data,
            "version_effective": version_effective,
            "fields": {**data["fields"], "permitted": _permitted(permits[number])},
        }
        _register(reg, tmp_path, data)
        in_force_from[number] = version_effective
    assert [v.version for v in reg.versions(data["id"])] == list(in_force_from)

    def model(on: datetime.date) -> tuple[int, set[str]]:
        # the highest-numbered version in force on `on`, else the first
        version = max((n for n, start in in_force_from.items() if start <= on), default=1)
        codes = set() if permits[version] else {"field_not_permitted"}
        if on < effective:
            codes.add("agreement_not_yet_effective")
        elif on > expires:
            codes.add("agreement_expired")
        return version, codes

    for on in sorted({probe, *amendments, *(d - DAY for d in amendments)}):
        decision = _check(reg, data["id"], on)
        version, codes = model(on)
        assert (decision.agreement_version, _codes(decision)) == (version, codes), on
        assert decision.allowed is not codes


# --- 3. status ---------------------------------------------------------------------------


@st.composite
def suspensions(
    draw: st.DrawFn,
) -> tuple[datetime.date, datetime.date, datetime.date, datetime.date | None, datetime.date]:
    """effective < suspended < expires, reinstated (or not) after the suspension and no
    later than expires, and a day to probe."""
    effective, suspended, expires = draw(
        st.lists(days, min_size=3, max_size=3, unique=True).map(_sorted)
    )
    reinstated = draw(st.none() | _between(suspended + DAY, expires))
    return effective, suspended, expires, reinstated, draw(_between(effective, expires))


@SETTINGS
@given(case=suspensions(), where=st.sampled_from(["file", "api", "file+api"]))
def test_a_suspension_denies_from_its_day_and_a_reinstatement_allows_from_its_own(
    reg: Registry,
    tmp_path: Path,
    case: tuple[datetime.date, datetime.date, datetime.date, datetime.date | None, datetime.date],
    where: str,
) -> None:
    effective, suspended, expires, reinstated, probe = case
    changes = [{"on": suspended, "status": "suspended", "reason": "court order"}]
    if reinstated is not None:
        changes.append({"on": reinstated, "status": "active", "reason": "order lifted"})
    in_file = {"file": changes, "api": [], "file+api": changes[:1]}[where]
    data = _agreement(effective, expires, status_changes=in_file)
    _register(reg, tmp_path, data)
    if where == "api":
        reg.suspend(data["id"], suspended, "court order", recorded_by="test")
    if where != "file" and reinstated is not None:
        reg.reinstate(data["id"], reinstated, "order lifted", recorded_by="test")

    def active(on: datetime.date) -> bool:
        return not (suspended <= on and (reinstated is None or on < reinstated))

    probes = {effective, suspended - DAY, suspended, expires, probe}
    if reinstated is not None:
        probes |= {reinstated - DAY, reinstated}
    for on in sorted(probes):
        decision = _check(reg, data["id"], on)
        assert _codes(decision) == (set() if active(on) else {"agreement_not_active"}), on
        assert decision.allowed is active(on)


def test_a_reinstatement_recorded_on_the_day_of_a_suspension_in_the_file_wins(
    reg: Registry, tmp_path: Path
) -> None:
    suspended = datetime.date(2024, 2, 29)
    data = _agreement(
        datetime.date(2024, 1, 1),
        datetime.date(2024, 12, 31),
        status_changes=[{"on": suspended, "status": "suspended", "reason": "court order"}],
    )
    _register(reg, tmp_path, data)
    assert not _check(reg, data["id"], suspended).allowed
    reg.reinstate(data["id"], suspended, "order lifted", recorded_by="test")
    assert _check(reg, data["id"], suspended - DAY).allowed
    assert _check(reg, data["id"], suspended).allowed  # the API's change applies last


# --- 4. period limits --------------------------------------------------------------------


def _fits(
    recorded: Sequence[tuple[datetime.date, int]],
    on: datetime.date,
    count: int,
    cap: int,
    period: int,
) -> bool:
    """The rule, by brute force over day numbers (no calendar clamping): every window of
    ``period`` days that contains ``on`` holds at most ``cap`` records with these."""
    day = on.toordinal()
    for start in range(day - period + 1, day + 1):
        used = sum(n for d, n in recorded if start <= d.toordinal() < start + period)
        if used + count > cap:
            return False
    return True


def _near(anchor: datetime.date, offset: int) -> datetime.date | None:
    try:
        return anchor + datetime.timedelta(days=offset)
    except OverflowError:
        return None


@st.composite
def usages(
    draw: st.DrawFn,
) -> tuple[int, int, datetime.date, list[tuple[datetime.date, int]], int]:
    """A period and a cap, the day of the last check (near the ends of the calendar at
    times), earlier checks around it (often exactly period-1 or period days away) and the
    records of the last check."""
    period = draw(st.sampled_from([1, 2, 7, 30]) | st.integers(min_value=1, max_value=12))
    cap = draw(st.integers(min_value=1, max_value=12))
    near_end = st.integers(min_value=0, max_value=period + 1)
    on = draw(
        days
        | near_end.map(lambda k: datetime.date.min + datetime.timedelta(days=k))
        | near_end.map(lambda k: datetime.date.max - datetime.timedelta(days=k))
    )
    edges = [0, 1, -1, period - 1, period, 1 - period, -period]
    offsets = st.sampled_from(edges) | st.integers(min_value=-2 * period, max_value=2 * period)
    earlier = draw(
        st.lists(
            st.tuples(offsets, st.integers(min_value=1, max_value=cap)), min_size=1, max_size=8
        )
    )
    placed = [(day, n) for offset, n in earlier if (day := _near(on, offset)) is not None]
    return period, cap, on, placed, draw(st.integers(min_value=1, max_value=cap))


@settings(SETTINGS, max_examples=50)
@given(
    case=usages(),
    batched=st.booleans(),
    cancel=st.lists(st.integers(min_value=0, max_value=7), max_size=2, unique=True),
)
def test_a_check_fits_iff_every_window_containing_its_day_fits(
    reg: Registry,
    tmp_path: Path,
    case: tuple[int, int, datetime.date, list[tuple[datetime.date, int]], int],
    batched: bool,
    cancel: list[int],
) -> None:
    period, cap, on, placed, count = case
    data = _agreement(
        datetime.date.min,
        datetime.date.max,
        limits={"max_records_per_period": cap, "period_days": period},
    )
    agreement = data["id"]
    _register(reg, tmp_path, data)

    # The earlier checks, one by one or as one group commit; each is judged against the
    # model with what the ones before it were allowed.
    asks = [_ask(agreement, day, n) for day, n in placed]
    if batched:
        decided = reg.checking.check_batch([decode_request(a) for a in asks])
    else:
        decided = [reg.check(a) for a in asks]
    allowed: list[tuple[Decision, datetime.date, int]] = []
    for (day, n), decision in zip(placed, decided, strict=True):
        fits = _fits([(d, k) for _, d, k in allowed], day, n, cap, period)
        assert decision.allowed is fits, (day, n)
        assert _codes(decision) == (set() if fits else {"period_record_limit_exceeded"})
        if fits:
            allowed.append((decision, day, n))
    for index in cancel:
        if index < len(allowed):
            reg.cancel(allowed[index][0].decision_id, "export failed", by="test")
    kept = {d.decision_id for i, (d, _, _) in enumerate(allowed) if i not in cancel}

    # The last check, against the disclosures as the accounting has them.
    entries = reg.disclosures(agreement=agreement)
    assert {e.decision_id for e in entries} == kept
    recorded = [(e.date, e.records) for e in entries]
    decision = _check(reg, agreement, on, count)
    fits = _fits(recorded, on, count, cap, period)
    assert decision.allowed is fits, (on, count, recorded)
    assert _codes(decision) == (set() if fits else {"period_record_limit_exceeded"})


ON = datetime.date(2024, 3, 1)  # a leap year: 29 days back is 1 February


@pytest.mark.parametrize(
    ("offset", "allowed"),
    [(-29, False), (-30, True), (29, False), (30, True), (0, False), (-1, False)],
)
def test_records_period_minus_one_days_away_share_a_window_and_period_days_away_do_not(
    reg: Registry, tmp_path: Path, offset: int, allowed: bool
) -> None:
    data = _agreement(
        datetime.date(2020, 1, 1),
        datetime.date(2029, 12, 31),
        limits={"max_records_per_period": 10, "period_days": 30},
    )
    _register(reg, tmp_path, data)
    assert _check(reg, data["id"], ON + datetime.timedelta(days=offset), 10).allowed
    assert _check(reg, data["id"], ON, 1).allowed is allowed


def test_a_batch_near_the_start_of_the_calendar_counts_only_windows_containing_the_day(
    reg: Registry, tmp_path: Path
) -> None:
    # Windows for 0001-01-03 would start before the calendar does; records allowed earlier
    # in the same batch 5 days later share no 5-day window with it.
    start = datetime.date.min
    data = _agreement(
        start, datetime.date(9999, 12, 31), limits={"max_records_per_period": 3, "period_days": 5}
    )
    _register(reg, tmp_path, data)
    later, early = start + 7 * DAY, start + 2 * DAY
    decided = reg.checking.check_batch(
        [decode_request(_ask(data["id"], later, 3)), decode_request(_ask(data["id"], early, 3))]
    )
    assert [d.allowed for d in decided] == [True, True]
