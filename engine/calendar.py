"""China's official working-day calendar, for deadlines counted in working days.

Property-management rules count many deadlines in 工作日 (e.g. "reply within 5
working days"). On China's calendar that is not Mon-Fri: official holidays are
days off even on weekdays, and moved weekends (调休) make some Saturdays and
Sundays working days. Getting this wrong around Spring Festival or National Day
shifts a deadline by a week.

Data comes from the maintained ``chinese_calendar`` package. Because the State
Council publishes next year's arrangement each autumn, possibly before the
package is updated, an arrangement can also be loaded as data
(``load_arrangement`` / ``load_arrangement_file``); loaded data wins for its
year. For a year with no data at all we fall back to plain weekends and emit
``CalendarDataMissing`` once per year, so a wrong deadline is never silent.

This module deliberately imports nothing else from the project.
"""

from __future__ import annotations

import json
import sys
import warnings
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import chinese_calendar

__all__ = [
    "CHINA_TZ",
    "CalendarDataMissing",
    "add_working_days",
    "clear_loaded_arrangements",
    "is_working_day",
    "load_arrangement",
    "load_arrangement_file",
    "loaded_years",
    "next_working_day",
    "working_days_between",
]

_ONE_DAY = timedelta(days=1)

# China has one time zone and no daylight saving: a fixed offset needs no tz database.
CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")


class CalendarDataMissing(UserWarning):
    """No official arrangement is known for a year; weekends-only was used."""


# year -> (days off that fall on weekdays, working days that fall on weekends).
# Only the exceptions to Mon-Fri are stored, which keeps every lookup O(1).
_Exceptions = tuple[frozenset[date], frozenset[date]]
_loaded: dict[int, _Exceptions] = {}
_cache: dict[int, _Exceptions] = {}
_warned_years: set[int] = set()


def _as_date(d: date) -> date:
    """Accept datetimes too: a datetime never equals a date inside a set."""
    return d.date() if isinstance(d, datetime) else d


def _exceptions(holidays, workdays) -> _Exceptions:
    """Keep only the days that differ from the plain Mon-Fri week."""
    return (
        frozenset(d for d in holidays if d.weekday() < 5),
        frozenset(d for d in workdays if d.weekday() >= 5),
    )


def _from_package(year: int) -> _Exceptions | None:
    """The package's arrangement for ``year``, or None if it has no data."""
    day = date(year, 1, 1)
    off, on = [], []
    try:
        while day.year == year:
            if chinese_calendar.is_workday(day):
                on.append(day)
            else:
                off.append(day)
            day += _ONE_DAY
    except NotImplementedError:  # the package's way of saying "unknown year"
        return None
    return _exceptions(off, on)


def _caller_stacklevel() -> int:
    """Stack level of the first frame outside this module, so warnings point at
    the code that asked for the date rather than at this file."""
    level, frame = 2, sys._getframe(2)
    while frame is not None and frame.f_code.co_filename == __file__:
        level, frame = level + 1, frame.f_back
    return level


def _year_exceptions(year: int) -> _Exceptions:
    """Cached arrangement for ``year``: loaded data, else package, else weekends."""
    cached = _cache.get(year)
    if cached is not None:
        return cached
    result = _loaded[year] if year in _loaded else _from_package(year)
    if result is None:
        if year not in _warned_years:
            _warned_years.add(year)
            warnings.warn(
                f"{year} 年没有法定节假日安排数据，暂按周一至周五工作计算；国务院办公厅公布后"
                f"请用 `linkage calendar load FILE` 载入 (no official holiday arrangement for "
                f"{year} yet; using Mon-Fri until it is loaded).",
                CalendarDataMissing,
                stacklevel=_caller_stacklevel(),
            )
        result = (frozenset(), frozenset())
    _cache[year] = result
    return result


def is_working_day(d: date) -> bool:
    """True if ``d`` is a working day on China's official calendar."""
    d = _as_date(d)
    days_off, moved_workdays = _year_exceptions(d.year)
    if d.weekday() >= 5:
        return d in moved_workdays
    return d not in days_off


def add_working_days(start: date, days: int) -> date:
    """The day ``days`` working days after ``start`` (before it if negative).

    ``start`` itself is not counted. ``days=0`` returns ``start`` if it is a
    working day, else the next working day, so a deadline never lands on a
    day off.
    """
    d = _as_date(start)
    if days == 0:
        while not is_working_day(d):
            d += _ONE_DAY
        return d
    step = _ONE_DAY if days > 0 else -_ONE_DAY
    remaining = abs(days)
    while remaining:
        d += step
        if is_working_day(d):
            remaining -= 1
    return d


def next_working_day(d: date) -> date:
    """The first working day strictly after ``d``."""
    return add_working_days(d, 1)


def working_days_between(start: date, end: date) -> int:
    """Number of working days in (start, end]; negative if ``end`` < ``start``.

    This is the inverse of ``add_working_days``: for n > 0,
    ``working_days_between(s, add_working_days(s, n)) == n``.
    """
    start, end = _as_date(start), _as_date(end)
    if end < start:
        return -working_days_between(end, start)
    count, d = 0, start
    while d < end:
        d += _ONE_DAY
        count += is_working_day(d)
    return count


def load_arrangement(year: int, holidays: list[date], workdays: list[date]) -> None:
    """Use an official arrangement for ``year`` instead of the package's.

    ``holidays`` are the days off (weekends inside a holiday may be listed or
    not); ``workdays`` are the moved working days (调休). Every date must be in
    ``year`` and no date may be both.
    """
    if not isinstance(year, int) or isinstance(year, bool) or not 1 <= year <= 9999:
        raise ValueError(f"年份无效: {year!r}")
    holidays = [_as_date(d) for d in holidays]
    workdays = [_as_date(d) for d in workdays]
    for d in holidays + workdays:
        if not isinstance(d, date):
            raise ValueError(f"日期类型错误: {d!r}")
        if d.year != year:
            raise ValueError(f"日期 {d.isoformat()} 不属于 {year} 年")
    both = sorted(set(holidays) & set(workdays))
    if both:
        raise ValueError(f"日期同时是假日和工作日: {', '.join(d.isoformat() for d in both)}")
    _loaded[year] = _exceptions(holidays, workdays)
    _cache.pop(year, None)


def load_arrangement_file(path: str | Path) -> int:
    """Load an arrangement from JSON and return its year.

    Format: ``{"year": 2027, "holidays": ["2027-01-01", ...],
    "workdays": ["2027-02-07", ...]}``. Any problem raises ``ValueError``
    naming the file (a missing file raises the usual ``OSError``).
    """
    text = Path(path).read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: JSON 格式错误: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{path}: 顶层必须是对象 (year/holidays/workdays)")
    missing = [key for key in ("year", "holidays", "workdays") if key not in data]
    if missing:
        raise ValueError(f"{path}: 缺少字段: {', '.join(missing)}")
    year = data["year"]
    lists = {}
    for key in ("holidays", "workdays"):
        if not isinstance(data[key], list):
            raise ValueError(f"{path}: {key} 必须是日期字符串列表")
        lists[key] = [_parse_date(path, value) for value in data[key]]
    try:
        load_arrangement(year, lists["holidays"], lists["workdays"])
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from exc
    return year


def _parse_date(path, value) -> date:
    """Parse a strict YYYY-MM-DD string, with an error that names the file."""
    try:
        if not isinstance(value, str) or len(value) != 10:
            raise ValueError
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise ValueError(f"{path}: 日期格式错误: {value!r} (应为 YYYY-MM-DD)") from None


def loaded_years() -> list[int]:
    """Years whose arrangement was loaded as data, sorted."""
    return sorted(_loaded)


def clear_loaded_arrangements() -> None:
    """Forget loaded data, caches and issued warnings (for tests)."""
    _loaded.clear()
    _cache.clear()
    _warned_years.clear()
