"""Dates of a property service contract's life: meeting notice, renewal, termination, exit.

Civil Code (民法典) Arts. 946-950 and 物业管理条例 Art. 14 count their periods in calendar days
(日), not working days, so everything here is plain date arithmetic. The periods themselves come
from `workflows.rules.periods` (or a contract's own terms) and are passed in: this module only
knows how the law counts them.

- An owners' meeting is announced "15 days before" (会议召开15日以前通知): notice on day N, the
  meeting may be held on day N + 15 at the earliest.
- A dismissal (Art. 946) or the end of a contract without fixed term (Art. 948) is notified "60
  days ahead" (提前六十日): notice served on day N, the contract ends on day N + 60.
- A provider that will not renew notifies "90 days before the term ends" (Art. 947): for a term
  ending on day E the notice is due by E - 90. The owners' renewal decision must be under way
  before that, so its preparation opens a further margin earlier (a configured period), leaving
  room to convene a meeting with its 15 days' notice.
- The term ends at the end of its last day: on E + 1 a contract that nobody renewed and whose
  provider still serves continues without fixed term (Art. 948).
- The exit period of Art. 949 runs from the day the provider has to start leaving: the
  termination day, or, when the owners designate the receiving side only later, that later day
  (a provider cannot hand over to nobody).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

__all__ = ["add_months", "earliest_meeting_on", "RenewalSchedule", "renewal_schedule",
           "termination_on", "exit_deadline"]


def _date(label: str, value) -> date:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError as exc:
            raise ValueError(f"{label}不是有效的日期：{value!r}") from exc
    if not isinstance(value, date):
        raise TypeError(f"{label}必须是日期")
    return value


def _days(label: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{label}必须是整数天数")
    if value < 0:
        raise ValueError(f"{label}不能为负数")
    return value


def add_months(start, months: int) -> date:
    """The same day `months` later; the 31st becomes the last day of a shorter month."""
    start = _date("起始日期", start)
    if isinstance(months, bool) or not isinstance(months, int) or months < 0:
        raise ValueError("月数必须是非负整数")
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def earliest_meeting_on(notice_on, notice_days: int) -> date:
    """The first day an owners' meeting announced on `notice_on` may be held."""
    return _date("通知日期", notice_on) + timedelta(days=_days("会议通知期限", notice_days))


@dataclass(frozen=True)
class RenewalSchedule:
    """When the renewal decision opens, when the 90-day notice falls due, when the term expires."""

    ends_on: date           # the last day of the term
    notice_on: date         # the provider's non-renewal notice is due by the end of this day
    opens_on: date          # the owners' decision and the provider's statement open on this day
    expires_on: date        # the first day after the term (Art. 948 continuation from here)

    def as_data(self) -> dict:
        return {"ends_on": self.ends_on.isoformat(), "notice_on": self.notice_on.isoformat(),
                "opens_on": self.opens_on.isoformat(), "expires_on": self.expires_on.isoformat()}


def renewal_schedule(ends_on, notice_days: int, preparation_days: int) -> RenewalSchedule:
    """The milestones of a fixed term ending on `ends_on` (Art. 947)."""
    ends_on = _date("合同期限届满日", ends_on)
    notice_on = ends_on - timedelta(days=_days("不续聘通知期限", notice_days))
    opens_on = notice_on - timedelta(days=_days("续聘决定准备期", preparation_days))
    return RenewalSchedule(ends_on, notice_on, opens_on, ends_on + timedelta(days=1))


def termination_on(served_on, notice_days: int) -> date:
    """The day a contract ends when its termination was notified on `served_on`."""
    return _date("书面通知送达日期", served_on) + timedelta(days=_days("解除通知期限", notice_days))


def exit_deadline(terminates_on, exit_starts_on, exit_days: int) -> date:
    """The last day of the exit period: `exit_days` after the later of the two days."""
    start = max(_date("合同终止日", terminates_on), _date("退出开始日", exit_starts_on))
    return start + timedelta(days=_days("退出期限", exit_days))
