"""When reminders and escalations fall due, on China's working-day calendar."""
from datetime import datetime
from itertools import islice
from types import SimpleNamespace

from engine.calendar import CHINA_TZ
from engine.deadlines import between, escalation_series, reminder_series


def beijing(*args):
    return datetime(*args, tzinfo=CHINA_TZ)


def rule(**overrides):
    values = dict(before_working_days=[3], before_days=[1], at_due=True,
                  overdue_every_working_days=1, escalate_after_working_days=3, hour=9)
    values.update(overrides)
    return SimpleNamespace(**values)


def moments(series, count):
    return [(m.kind, m.amount, m.at.astimezone(CHINA_TZ).strftime("%m-%d %H:%M"), m.describe())
            for m in islice(series, count)]


def test_default_series_before_on_and_after_the_deadline():
    due = beijing(2026, 3, 23, 23, 59, 59)  # Monday
    assert moments(reminder_series(rule(), due), 5) == [
        ("before", 3, "03-18 09:00", "距办理期限还有3个工作日"),
        ("before", 1, "03-22 09:00", "距办理期限还有1天"),
        ("due", 0, "03-23 09:00", "今日到期"),
        ("overdue", 1, "03-24 09:00", "已逾期1天"),
        ("overdue", 2, "03-25 09:00", "已逾期2天")]


def test_overdue_reminders_skip_holidays_and_count_calendar_days():
    due = beijing(2026, 4, 3, 18)  # Friday before the Qingming holiday (4-6 April)
    overdue = [m for m in islice(reminder_series(rule(), due), 6) if m.kind == "overdue"]
    assert [(m.at.astimezone(CHINA_TZ).strftime("%m-%d"), m.amount) for m in overdue[:2]] == [
        ("04-07", 4), ("04-08", 5)]
    # Three working days before 8 October 2026 is 28 September: the National Day week is off.
    first = next(reminder_series(rule(before_days=[]), beijing(2026, 10, 8, 17)))
    assert first.at == beijing(2026, 9, 28, 9)


def test_a_deadline_earlier_than_the_hour_is_reminded_at_the_deadline_and_duplicates_merge():
    due = beijing(2026, 3, 10, 8, 0)  # Tuesday 08:00
    series = moments(reminder_series(rule(before_working_days=[1], before_days=[1],
                                          overdue_every_working_days=0), due), 5)
    assert series == [("before", 1, "03-09 09:00", "距办理期限还有1个工作日"),
                      ("due", 0, "03-10 08:00", "今日到期")]


def test_escalation_every_threshold_and_none_without_one():
    due = beijing(2026, 3, 9, 23, 59, 59)
    assert moments(escalation_series(rule(), due), 2) == [
        ("escalation", 1, "03-12 09:00", "逾期未办理，第1次自动上报"),
        ("escalation", 2, "03-17 09:00", "逾期未办理，第2次自动上报")]
    assert list(escalation_series(rule(escalate_after_working_days=None), due)) == []


def test_between_is_after_exclusive_until_inclusive():
    due = beijing(2026, 3, 23, 23, 59, 59)
    due_now, following = between(reminder_series(rule(), due), beijing(2026, 3, 18, 9),
                                  beijing(2026, 3, 23, 9))
    assert [m.kind for m in due_now] == ["before", "due"] and following.amount == 1
