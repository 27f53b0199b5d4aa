"""Period windows: the usage a check is judged against is the fullest window of
``period_days`` days that contains its date."""

from __future__ import annotations

import datetime

from registry.engine.limits import peak_usage

DAY = datetime.timedelta(days=1)


def test_peak_usage_takes_the_fullest_window_containing_the_day() -> None:
    on = datetime.date(2025, 6, 15)
    daily = {on - 4 * DAY: 2, on + 4 * DAY: 3, on + 5 * DAY: 7}
    # 5-day windows containing the 15th: the 11th-15th (2) ... the 15th-19th (3); the 20th
    # is in none of them.
    assert peak_usage(daily, on, 5) == 3


def test_records_period_days_away_share_no_window_with_the_day() -> None:
    on = datetime.date(2025, 6, 15)
    assert peak_usage({on - 5 * DAY: 9, on + 5 * DAY: 9}, on, 5) == 0
    assert peak_usage({on - 4 * DAY: 9}, on, 5) == 9


def test_near_the_start_of_the_calendar_only_windows_containing_the_day_count() -> None:
    # Windows for 0001-01-03 start before the calendar does; a record on 0001-01-08 is 5 days
    # away, in no 5-day window with it (the first day used to be clamped to 0001-01-01 and
    # the windows shifted with it, taking in the 8th).
    on = datetime.date.min + 2 * DAY
    assert peak_usage({datetime.date.min + 7 * DAY: 3}, on, 5) == 0
    assert peak_usage({datetime.date.min + 6 * DAY: 3}, on, 5) == 3


def test_near_the_end_of_the_calendar_windows_reach_its_last_day() -> None:
    on = datetime.date.max - 2 * DAY
    assert peak_usage({datetime.date.max: 3, on - 4 * DAY: 1}, on, 5) == 3
