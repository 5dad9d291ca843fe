"""When a task with a due time is reminded and escalated, as pure functions of its rule.

Reminders go out at the rule's hour (Beijing time) on: each of `before_working_days` working
days before the due date, each of `before_days` calendar days before it, the due date itself
(or at the due time, if that is earlier in the day), and then every `overdue_every_working_days`
working days while the task stays overdue. Escalation comes after `escalate_after_working_days`
overdue working days, and again after each further such period. Working days are China's
official ones (`engine.calendar`), so an overdue reminder never lands on a holiday.
"""
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from itertools import count

from engine.calendar import CHINA_TZ, add_working_days

MAX_SERIES = 5000  # a task overdue for twenty years still ends its series


@dataclass(frozen=True)
class Moment:
    at: datetime   # UTC
    kind: str      # before | due | overdue | escalation
    amount: int    # days before (or overdue); escalation number
    unit: str      # working_days | days

    def describe(self):
        """The moment as a reminder says it, in Chinese."""
        if self.kind == "before":
            return f"距办理期限还有{self.amount}{'个工作日' if self.unit == 'working_days' else '天'}"
        if self.kind == "due":
            return "今日到期"
        if self.kind == "overdue":
            return f"已逾期{self.amount}天"
        return f"逾期未办理，第{self.amount}次自动上报"


def local_day(moment):
    return moment.astimezone(CHINA_TZ).date()


def at_hour(day: date, hour: int):
    return datetime.combine(day, time(hour), CHINA_TZ).astimezone(timezone.utc)


def reminder_series(rule, due_at):
    """Every reminder moment of a task due at `due_at`, in order (infinite while overdue)."""
    due_day = local_day(due_at)
    on_due = min(due_at, at_hour(due_day, rule.hour))
    before = {}
    for n in rule.before_working_days or []:
        moment = at_hour(add_working_days(due_day, -int(n)), rule.hour)
        before.setdefault(moment, Moment(moment, "before", int(n), "working_days"))
    for n in rule.before_days or []:
        moment = at_hour(date.fromordinal(due_day.toordinal() - int(n)), rule.hour)
        before.setdefault(moment, Moment(moment, "before", int(n), "days"))
    for moment in sorted(m for m in before if m < on_due):
        yield before[moment]
    if rule.at_due:
        yield Moment(on_due, "due", 0, "days")
    every = rule.overdue_every_working_days or 0
    if every > 0:
        for k in range(1, MAX_SERIES):
            day = add_working_days(due_day, k * every)
            yield Moment(at_hour(day, rule.hour), "overdue", (day - due_day).days, "days")


def escalation_series(rule, due_at):
    """Every automatic escalation moment of a task due at `due_at` (none without a threshold)."""
    every = rule.escalate_after_working_days
    if not every or every <= 0:
        return
    due_day = local_day(due_at)
    for k in count(1):
        if k >= MAX_SERIES:
            return
        moment = at_hour(add_working_days(due_day, k * every), rule.hour)
        if moment > due_at:
            yield Moment(moment, "escalation", k, "working_days")


def between(series, after, until):
    """The moments of `series` in (after, until], and the first one after `until` (or None)."""
    due, following = [], None
    for moment in series:
        if moment.at > until:
            following = moment
            break
        if after is None or moment.at > after:
            due.append(moment)
    return due, following
