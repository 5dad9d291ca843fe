"""Rules of publicity and circulation (公示通报): what is publicized, who reviews it, and when the
notice period ends.

Kept as plain functions because both the start form (a clerk drafting a notice) and the service
handler behind the `start_publicity` message (another process asking for one) must apply the same
rules, and because the end of a notice period is a legal computation worth testing on its own.

- The kinds of publicity follow the linkage mechanism's publicity and reporting system and Civil
  Code Art. 943 (the provider regularly discloses services, fees, maintenance-fund use and income
  from common parts); a violation circular (违规通报) names an enterprise and its violations.
- A circular naming an enterprise is reviewed by the housing bureau, which keeps the enterprises'
  credit files and announces credit risks (Jincheng housing bureau reply: D grade "通报业主、
  业委会（物管会）、社区居委会"); everything else by the street, which supervises the compounds
  day to day. A case may name another reviewer.
- A period counted in days starts the day after the notice is posted (Civil Code Art. 201) and
  runs to the end (24:00) of its last day; a last day that is a day off moves to the next working
  day (Art. 203), so a notice never closes while the community office is shut for a holiday.
"""
from __future__ import annotations

from datetime import date, timedelta

from engine.calendar import is_working_day, next_working_day

__all__ = ["KINDS", "REVIEWERS", "ADDRESSEES", "CIRCULAR_KIND", "DEFAULT_ADDRESSEES",
           "reviewer_for", "notice_period_end"]

KINDS = {
    "general": "一般公示",
    "service_disclosure": "物业服务信息公开",
    "fund_usage": "专项维修资金使用与公共收益",
    "meeting_minutes": "联席会议纪要",
    "evaluation_result": "评议考评结果",
    "violation_circular": "违规行为通报",
}
CIRCULAR_KIND = "violation_circular"

REVIEWERS = {"street": "街道办事处（乡镇）", "bureau": "住房和城乡建设部门"}

ADDRESSEES = {
    "owners": "全体业主",
    "owners_committee": "业主委员会（物业管理委员会）",
    "residents_committee": "社区居（村）民委员会",
    "company": "被通报的物业服务企业",
    "street": "街道办事处（乡镇）",
}
# Those a credit risk is announced to (Jincheng housing bureau reply, D grade).
DEFAULT_ADDRESSEES = ("owners", "owners_committee", "residents_committee")


def reviewer_for(kind: str, requested: str | None = None) -> str:
    """Who reviews a notice of `kind`: the requested reviewer if one is named, else the rule."""
    if kind not in KINDS:
        raise ValueError(f"未知的公示类别：{kind!r}；可用的有：{'、'.join(KINDS)}")
    if requested:
        if requested not in REVIEWERS:
            raise ValueError(f"未知的审核单位：{requested!r}；可用的有：{'、'.join(REVIEWERS)}")
        return requested
    return "bureau" if kind == CIRCULAR_KIND else "street"


def notice_period_end(posted_on: date, days: int) -> date:
    """The last day of a notice period of `days` days for a notice posted on `posted_on`.

    Art. 201: the day of posting is not counted; Art. 203: when the last day is a day off on
    China's official calendar, the period ends on the first working day after it.
    """
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise ValueError(f"公示期必须是正整数天数，收到 {days!r}")
    last = posted_on + timedelta(days=days)
    return last if is_working_day(last) else next_working_day(last)
