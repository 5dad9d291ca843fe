"""Report days of the month, the next report day and the days a report covers."""
from datetime import date

import pytest

from workflows.rules.periods import period
from workflows.rules.report_schedule import (is_report_day, next_report_day, previous_report_day,
                                             report_days_in_month, reporting_period)

DAYS = period("report_days_of_month")  # the Shanxi plan's 3rd and 18th


def test_default_days_are_the_provincial_ones():
    assert DAYS == [3, 18]
    assert report_days_in_month(2026, 3, DAYS) == [date(2026, 3, 3), date(2026, 3, 18)]


def test_days_past_a_short_month_fall_on_its_last_day():
    assert report_days_in_month(2026, 2, [3, 18, 31]) == [date(2026, 2, 3), date(2026, 2, 18),
                                                          date(2026, 2, 28)]
    assert report_days_in_month(2028, 2, [31]) == [date(2028, 2, 29)]
    assert report_days_in_month(2026, 2, [29, 30, 31]) == [date(2026, 2, 28)]
    assert report_days_in_month(2026, 4, [31]) == [date(2026, 4, 30)]
    assert is_report_day(date(2026, 2, 28), [31]) and not is_report_day(date(2026, 3, 30), [31])


@pytest.mark.parametrize("on, due", [
    (date(2026, 3, 2), date(2026, 3, 3)),
    (date(2026, 3, 3), date(2026, 3, 3)),      # started on a report day: due that day
    (date(2026, 3, 4), date(2026, 3, 18)),
    (date(2026, 3, 18), date(2026, 3, 18)),
    (date(2026, 3, 19), date(2026, 4, 3)),
    (date(2026, 12, 19), date(2027, 1, 3)),
])
def test_next_report_day(on, due):
    assert next_report_day(on, DAYS) == due


@pytest.mark.parametrize("due, first, last", [
    (date(2026, 3, 18), date(2026, 3, 3), date(2026, 3, 17)),
    (date(2026, 4, 3), date(2026, 3, 18), date(2026, 4, 2)),
    (date(2026, 1, 3), date(2025, 12, 18), date(2026, 1, 2)),
    (date(2026, 3, 3), date(2026, 2, 18), date(2026, 3, 2)),
])
def test_reporting_period_runs_from_the_previous_report_day(due, first, last):
    assert reporting_period(due, DAYS) == (first, last)
    assert previous_report_day(due, DAYS) == first


def test_reporting_period_with_month_end_days():
    assert reporting_period(date(2026, 2, 28), [31]) == (date(2026, 1, 31), date(2026, 2, 27))
    assert reporting_period(date(2026, 3, 31), [31]) == (date(2026, 2, 28), date(2026, 3, 30))
    assert next_report_day(date(2026, 2, 1), [31]) == date(2026, 2, 28)


def test_a_day_that_is_no_report_day_has_no_period():
    with pytest.raises(ValueError, match="2026-03-10 不是报告日（每月3、18日）"):
        reporting_period(date(2026, 3, 10), DAYS)


@pytest.mark.parametrize("days", [[], None, [0], [32], [True], ["3"]])
def test_bad_report_days_are_refused(days):
    with pytest.raises(ValueError, match="报告日必须是1至31之间的整数"):
        next_report_day(date(2026, 3, 1), days)
