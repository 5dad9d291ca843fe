"""How the law counts the days of a contract's life (Arts. 946-949, 物业管理条例 Art. 14)."""
from datetime import date

import pytest

from workflows.rules.contract_terms import (add_months, earliest_meeting_on, exit_deadline,
                                            renewal_schedule, termination_on)
from workflows.rules.periods import period


def test_meeting_notice_counts_fifteen_calendar_days():
    # Notice on Monday 2 March 2026: the meeting may be held on Tuesday 17 March, not earlier.
    assert earliest_meeting_on(date(2026, 3, 2), period("owners_meeting_notice_days")) == date(2026, 3, 17)
    assert earliest_meeting_on("2026-12-20", 15) == date(2027, 1, 4)
    assert earliest_meeting_on(date(2026, 3, 2), 0) == date(2026, 3, 2)


def test_renewal_schedule_opens_before_the_ninety_day_notice():
    schedule = renewal_schedule(date(2026, 12, 31), period("non_renewal_notice_days"),
                                period("renewal_preparation_days"))
    assert schedule.notice_on == date(2026, 10, 2)      # 90 days before the end
    assert schedule.opens_on == date(2026, 9, 2)        # 30 more days to convene the owners
    assert schedule.expires_on == date(2027, 1, 1)      # the first day after the term
    assert schedule.as_data() == {"ends_on": "2026-12-31", "notice_on": "2026-10-02",
                                  "opens_on": "2026-09-02", "expires_on": "2027-01-01"}
    # A contract's own (shorter) non-renewal period moves the notice date, not the end.
    short = renewal_schedule("2026-06-30", 30, 30)
    assert (short.notice_on, short.opens_on) == (date(2026, 5, 31), date(2026, 5, 1))
    # Across a leap day.
    assert renewal_schedule(date(2028, 5, 29), 90, 0).notice_on == date(2028, 2, 29)


def test_termination_counts_from_the_day_the_notice_is_served():
    assert termination_on(date(2026, 3, 18), period("dismissal_notice_days")) == date(2026, 5, 17)
    assert termination_on("2026-11-01", period("indefinite_term_notice_days")) == date(2026, 12, 31)


def test_exit_deadline_runs_from_the_later_of_termination_and_start():
    assert exit_deadline(date(2026, 5, 17), date(2026, 5, 17), 15) == date(2026, 6, 1)
    # The owners designated the receiving side late: the company's period starts then.
    assert exit_deadline(date(2026, 5, 17), date(2026, 5, 20), 15) == date(2026, 6, 4)
    assert exit_deadline("2026-05-17", "2026-05-01", 10) == date(2026, 5, 27)


def test_add_months_keeps_the_day_or_takes_the_month_end():
    assert add_months(date(2027, 1, 1), 36) == date(2030, 1, 1)
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2027, 12, 31), 2) == date(2028, 2, 29)
    assert add_months(date(2026, 11, 15), 0) == date(2026, 11, 15)


@pytest.mark.parametrize("call, error, message", [
    (lambda: termination_on("2026-02-30", 60), ValueError, "书面通知送达日期不是有效的日期"),
    (lambda: termination_on(date(2026, 3, 1), -1), ValueError, "解除通知期限不能为负数"),
    (lambda: termination_on(date(2026, 3, 1), 60.0), TypeError, "解除通知期限必须是整数天数"),
    (lambda: termination_on(20260301, 60), TypeError, "书面通知送达日期必须是日期"),
    (lambda: renewal_schedule(date(2026, 12, 31), True, 30), TypeError, "不续聘通知期限必须是整数天数"),
    (lambda: add_months(date(2026, 1, 1), -1), ValueError, "月数必须是非负整数"),
    (lambda: exit_deadline(date(2026, 5, 17), None, 15), TypeError, "退出开始日必须是日期"),
])
def test_bad_input_is_refused_in_chinese(call, error, message):
    with pytest.raises(error, match=message):
        call()
