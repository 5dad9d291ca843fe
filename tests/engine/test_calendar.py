"""Working-day calendar: exact boundaries of real holiday arrangements."""

import json
import time
import warnings
from datetime import date, datetime

import pytest

from engine import calendar as cal
from engine.calendar import (
    CalendarDataMissing,
    add_working_days,
    is_working_day,
    next_working_day,
    working_days_between,
)


@pytest.fixture(autouse=True)
def clean_calendar():
    cal.clear_loaded_arrangements()
    yield
    cal.clear_loaded_arrangements()


# --- 2025 National Day + Mid-Autumn: off 1-8 Oct, work Sun 28 Sep and Sat 11 Oct


def test_national_day_2025_every_day_from_1_to_8_october_is_off():
    for day in range(1, 9):
        assert not is_working_day(date(2025, 10, day)), day


def test_national_day_2025_moved_weekend_days_are_working_days():
    assert date(2025, 9, 28).weekday() == 6  # Sunday
    assert date(2025, 10, 11).weekday() == 5  # Saturday
    assert is_working_day(date(2025, 9, 28))
    assert is_working_day(date(2025, 10, 11))


def test_national_day_2025_ordinary_weekend_around_it_is_still_off():
    assert not is_working_day(date(2025, 9, 27))  # Saturday before
    assert not is_working_day(date(2025, 10, 12))  # Sunday after


def test_add_one_working_day_from_friday_lands_on_working_sunday():
    assert add_working_days(date(2025, 9, 26), 1) == date(2025, 9, 28)


def test_add_one_working_day_from_last_day_before_holiday_skips_whole_holiday():
    assert add_working_days(date(2025, 9, 30), 1) == date(2025, 10, 9)


def test_add_one_working_day_from_friday_after_holiday_lands_on_working_saturday():
    assert add_working_days(date(2025, 10, 10), 1) == date(2025, 10, 11)


def test_add_zero_working_days_on_holiday_returns_next_working_day():
    assert add_working_days(date(2025, 10, 3), 0) == date(2025, 10, 9)


def test_add_zero_working_days_on_working_day_returns_same_day():
    assert add_working_days(date(2025, 9, 28), 0) == date(2025, 9, 28)


def test_negative_days_count_backwards_over_holiday():
    assert add_working_days(date(2025, 10, 9), -1) == date(2025, 9, 30)
    assert add_working_days(date(2025, 9, 29), -1) == date(2025, 9, 28)
    assert add_working_days(date(2025, 9, 28), -1) == date(2025, 9, 26)


def test_negative_days_from_a_holiday_start_before_it():
    assert add_working_days(date(2025, 10, 5), -1) == date(2025, 9, 30)


def test_next_working_day_is_strictly_after():
    assert next_working_day(date(2025, 9, 30)) == date(2025, 10, 9)
    assert next_working_day(date(2025, 10, 9)) == date(2025, 10, 10)


def test_working_days_between_counts_half_open_interval():
    # (26 Sep, 11 Oct]: 28, 29, 30 Sep and 9, 10, 11 Oct.
    assert working_days_between(date(2025, 9, 26), date(2025, 10, 11)) == 6
    assert working_days_between(date(2025, 9, 30), date(2025, 10, 8)) == 0
    assert working_days_between(date(2025, 10, 1), date(2025, 10, 1)) == 0
    assert working_days_between(date(2025, 10, 11), date(2025, 9, 26)) == -6


def test_working_days_between_inverts_add_working_days():
    start = date(2025, 9, 20)
    for n in (1, 5, 10, 30):
        assert working_days_between(start, add_working_days(start, n)) == n


def test_datetimes_are_treated_as_their_date():
    assert not is_working_day(datetime(2025, 10, 1, 9, 30))
    assert add_working_days(datetime(2025, 9, 30, 18, 0), 1) == date(2025, 10, 9)


# --- 2026 Spring Festival (from chinese_calendar 1.11.0 data):
# off Sun 15 Feb - Mon 23 Feb; work Sat 14 Feb and Sat 28 Feb.


def test_spring_festival_2026_days_off():
    for day in range(15, 24):
        assert not is_working_day(date(2026, 2, day)), day


def test_spring_festival_2026_moved_working_saturdays():
    assert date(2026, 2, 14).weekday() == 5
    assert date(2026, 2, 28).weekday() == 5
    assert is_working_day(date(2026, 2, 14))
    assert is_working_day(date(2026, 2, 28))


def test_spring_festival_2026_boundaries_by_adding_days():
    assert add_working_days(date(2026, 2, 13), 1) == date(2026, 2, 14)
    assert add_working_days(date(2026, 2, 14), 1) == date(2026, 2, 24)
    assert add_working_days(date(2026, 2, 27), 1) == date(2026, 2, 28)
    assert add_working_days(date(2026, 2, 24), -1) == date(2026, 2, 14)


# --- long spans


def test_add_250_working_days_is_fast_and_consistent():
    start = date(2025, 1, 2)
    began = time.perf_counter()
    end = add_working_days(start, 250)
    assert time.perf_counter() - began < 1.0
    assert working_days_between(start, end) == 250
    assert is_working_day(end)


# --- loaded arrangements


def test_loaded_arrangement_overrides_weekends_for_year_beyond_package():
    cal.load_arrangement(
        2031,
        holidays=[date(2031, 1, 1), date(2031, 1, 2), date(2031, 1, 3)],
        workdays=[date(2031, 1, 4)],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", CalendarDataMissing)
        assert not is_working_day(date(2031, 1, 1))  # Wednesday, holiday
        assert is_working_day(date(2031, 1, 4))  # Saturday, moved working day
        assert add_working_days(date(2031, 12, 31), 0) == date(2031, 12, 31)
        assert add_working_days(date(2030, 12, 31), 1) == date(2031, 1, 4)
    assert cal.loaded_years() == [2031]


def test_loaded_arrangement_overrides_package_data():
    cal.load_arrangement(2025, holidays=[date(2025, 9, 29)], workdays=[])
    assert not is_working_day(date(2025, 9, 29))
    assert is_working_day(date(2025, 10, 1))  # package holiday no longer applies
    assert not is_working_day(date(2025, 9, 28))  # package moved Sunday neither


def test_clear_loaded_arrangements_restores_package_data():
    cal.load_arrangement(2025, holidays=[], workdays=[])
    assert is_working_day(date(2025, 10, 1))
    cal.clear_loaded_arrangements()
    assert cal.loaded_years() == []
    assert not is_working_day(date(2025, 10, 1))


def test_load_arrangement_rejects_date_from_another_year():
    with pytest.raises(ValueError, match="不属于 2031"):
        cal.load_arrangement(2031, holidays=[date(2030, 12, 31)], workdays=[])


def test_load_arrangement_rejects_date_that_is_both_holiday_and_workday():
    with pytest.raises(ValueError, match="2031-01-04"):
        cal.load_arrangement(2031, holidays=[date(2031, 1, 4)], workdays=[date(2031, 1, 4)])


def test_load_arrangement_file_reads_json(tmp_path):
    path = tmp_path / "2031.json"
    path.write_text(
        json.dumps({"year": 2031, "holidays": ["2031-01-01"], "workdays": ["2031-01-04"]}),
        encoding="utf-8",
    )
    assert cal.load_arrangement_file(path) == 2031
    assert cal.loaded_years() == [2031]
    assert not is_working_day(date(2031, 1, 1))
    assert is_working_day(date(2031, 1, 4))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "JSON 格式错误"),
        ("[]", "顶层必须是对象"),
        ('{"year": 2031, "holidays": []}', "缺少字段: workdays"),
        ('{"year": 2031, "holidays": "2031-01-01", "workdays": []}', "holidays 必须是"),
        ('{"year": 2031, "holidays": ["2031/01/01"], "workdays": []}', "日期格式错误"),
        ('{"year": 2031, "holidays": ["2031-02-30"], "workdays": []}', "日期格式错误"),
        ('{"year": 2031, "holidays": [20310101], "workdays": []}', "日期格式错误"),
        ('{"year": "2031", "holidays": [], "workdays": []}', "年份无效"),
        ('{"year": 2031, "holidays": ["2030-12-31"], "workdays": []}', "不属于 2031"),
    ],
)
def test_load_arrangement_file_rejects_invalid_content(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message) as excinfo:
        cal.load_arrangement_file(path)
    assert str(path) in str(excinfo.value)
    assert cal.loaded_years() == []


# --- years without data


def test_year_without_data_uses_weekends_and_warns_once():
    with pytest.warns(CalendarDataMissing, match="2040"):
        assert is_working_day(date(2040, 1, 2))  # Monday
    with warnings.catch_warnings():
        warnings.simplefilter("error", CalendarDataMissing)
        assert not is_working_day(date(2040, 1, 1))  # Sunday, no second warning
        assert add_working_days(date(2040, 1, 6), 1) == date(2040, 1, 9)  # Fri -> Mon


def test_each_year_without_data_warns_separately():
    with pytest.warns(CalendarDataMissing, match="2041"):
        is_working_day(date(2041, 3, 1))
    with pytest.warns(CalendarDataMissing, match="2003"):
        is_working_day(date(2003, 3, 1))


def test_loading_a_year_silences_the_missing_data_warning():
    cal.load_arrangement(2040, holidays=[], workdays=[date(2040, 1, 1)])
    with warnings.catch_warnings():
        warnings.simplefilter("error", CalendarDataMissing)
        assert is_working_day(date(2040, 1, 1))
