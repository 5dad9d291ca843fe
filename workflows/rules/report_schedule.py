"""When reports to the level above fall due, and which days each report covers.

The Shanxi task force asks for progress reports "每月的3日、18日前" (before the 3rd and the 18th
of each month; the days are the period `report_days_of_month`, configurable). A report is on
time when it reaches the level above by the end of its report day; "前" is read as "no later
than", as such deadlines are administered. A report covers the days since the previous report
day: the report due on the 18th covers the 3rd to the 17th, the one due on 3 April covers
18 March to 2 April.

A report day past the end of a short month (31, or 29/30 in February) falls on that month's last
day, so that every month still has its report.
"""
from __future__ import annotations

import calendar
from datetime import date, timedelta

__all__ = ["report_days_in_month", "is_report_day", "next_report_day", "previous_report_day",
           "reporting_period"]


def _days(days_of_month) -> list[int]:
    days = list(days_of_month or ())
    if not days or any(isinstance(d, bool) or not isinstance(d, int) or not 1 <= d <= 31
                       for d in days):
        raise ValueError("报告日必须是1至31之间的整数，且不能为空")
    return days


def report_days_in_month(year: int, month: int, days_of_month) -> list[date]:
    """The report days of one month, in order, a day past the month's end on its last day."""
    last = calendar.monthrange(year, month)[1]
    return sorted({date(year, month, min(day, last)) for day in _days(days_of_month)})


def _month_after(year, month):
    return (year + 1, 1) if month == 12 else (year, month + 1)


def _month_before(year, month):
    return (year - 1, 12) if month == 1 else (year, month - 1)


def is_report_day(day: date, days_of_month) -> bool:
    return day in report_days_in_month(day.year, day.month, days_of_month)


def next_report_day(on: date, days_of_month) -> date:
    """The first report day on or after `on`: a report started on a report day is due that day."""
    year, month = on.year, on.month
    for _ in range(2):
        for day in report_days_in_month(year, month, days_of_month):
            if day >= on:
                return day
        year, month = _month_after(year, month)
    raise AssertionError("every month has a report day")  # unreachable: _days refuses none


def previous_report_day(due: date, days_of_month) -> date:
    """The report day before `due` (the start of the period the report on `due` covers)."""
    year, month = due.year, due.month
    for _ in range(2):
        earlier = [d for d in report_days_in_month(year, month, days_of_month) if d < due]
        if earlier:
            return earlier[-1]
        year, month = _month_before(year, month)
    raise AssertionError("every month has a report day")


def reporting_period(due: date, days_of_month) -> tuple[date, date]:
    """First and last day (inclusive) covered by the report due on `due`."""
    if not is_report_day(due, days_of_month):
        raise ValueError(f"{due.isoformat()} 不是报告日（每月{'、'.join(map(str, sorted(_days(days_of_month))))}日）")
    return previous_report_day(due, days_of_month), due - timedelta(days=1)
