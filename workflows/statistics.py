"""The figures a periodic report carries to the level above, counted from the engine's tables.

Every count is for one organisation path (a community, a street, a district: everything whose
`org_path` starts with it) and one reporting period of whole days in Beijing time, first and
last day included. Counts come from what the engine records anyway: `cases` (when a case
started and closed, and the outcome its last step wrote), and `events` (the audit trail: which
timer fired, which step ran, when). No process keeps a counter of its own, so a figure can
always be traced back to the cases behind it.

What each figure means:

- rectifications opened: rectification cases started in the period;
- rectifications closed: rectification cases completed in the period (whatever the outcome);
- closed on time: of those, the ones rectified and verified (`outcome` "rectified") no later
  than the day of their deadline (`rectification_deadline`, the current round's); a case closed
  on its deadline day counts as on time;
- rectifications overdue: cases whose deadline passed without the company's report during the
  period (the `deadline_passed` timer fired);
- rectifications escalated: cases sent to the street during the period, for whatever cause
  (overdue, refused, escalated by a supervisor: the `record_escalation` step ran);
- joint meetings held: joint meeting cases (not cancelled) whose meeting day (`held_on`, as
  the minutes record it) falls in the period;
- problem coordinations opened: cases started in the period; resolved: cases completed in the
  period with the outcome "resolved" (a problem referred elsewhere is closed, not resolved).
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select

from engine.calendar import CHINA_TZ
from engine.models import Case, Event

__all__ = ["period_bounds", "rectification_counts", "joint_meeting_counts",
           "problem_coordination_counts", "report_statistics"]

RECTIFICATION = "rectification"
JOINT_MEETING = "joint_meeting"
PROBLEM_COORDINATION = "problem_coordination"
# Elements of bpmn/rectification.bpmn whose audit events the figures read.
DEADLINE_TIMER = "deadline_passed"
ESCALATION_STEP = "record_escalation"


def _as_date(value, label) -> date:
    if isinstance(value, datetime):
        raise TypeError(f"{label}必须是日期，不能是日期时间")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"{label}不是有效的日期（如 2026-03-17）：{value!r}")


def period_bounds(period_start, period_end) -> tuple[datetime, datetime]:
    """The period as instants: from 00:00 of its first day to 00:00 after its last (Beijing)."""
    first, last = _as_date(period_start, "统计开始日期"), _as_date(period_end, "统计结束日期")
    if last < first:
        raise ValueError(f"统计结束日期（{last.isoformat()}）不能早于开始日期（{first.isoformat()}）")
    return (datetime.combine(first, time(0), CHINA_TZ),
            datetime.combine(last + timedelta(days=1), time(0), CHINA_TZ))


def _in_scope(org_path):
    if not isinstance(org_path, str) or not org_path.endswith("/"):
        raise ValueError(f"组织路径必须以 / 结尾：{org_path!r}")
    return Case.org_path.like(org_path + "%")


def _count(session, query):
    return session.scalar(select(func.count()).select_from(query.subquery()))


def _started(process_id, org_path, start, end):
    return select(Case.id).where(Case.process_id == process_id, _in_scope(org_path),
                                 Case.started_at >= start, Case.started_at < end)


def _closed_cases(session, process_id, org_path, start, end):
    return session.execute(
        select(Case.id, Case.data, Case.completed_at).where(
            Case.process_id == process_id, _in_scope(org_path), Case.status == "completed",
            Case.completed_at >= start, Case.completed_at < end)).all()


def _cases_with_event(session, process_id, org_path, start, end, kind, element):
    query = (select(Event.case_id).join(Case, Case.id == Event.case_id)
             .where(Case.process_id == process_id, _in_scope(org_path), Event.kind == kind,
                    Event.element == element, Event.at >= start, Event.at < end).distinct())
    return _count(session, query)


def _beijing_day(instant) -> date:
    return instant.astimezone(CHINA_TZ).date()


def rectification_counts(session, org_path, period_start, period_end) -> dict:
    start, end = period_bounds(period_start, period_end)
    closed = _closed_cases(session, RECTIFICATION, org_path, start, end)
    on_time = 0
    for row in closed:
        data = row.data or {}
        deadline = data.get("rectification_deadline")
        if data.get("outcome") == "rectified" and deadline \
                and _beijing_day(row.completed_at) <= date.fromisoformat(deadline):
            on_time += 1
    return {
        "opened": _count(session, _started(RECTIFICATION, org_path, start, end)),
        "closed": len(closed),
        "closed_on_time": on_time,
        "overdue": _cases_with_event(session, RECTIFICATION, org_path, start, end,
                                     "timer_fired", DEADLINE_TIMER),
        "escalated": _cases_with_event(session, RECTIFICATION, org_path, start, end,
                                       "task_completed", ESCALATION_STEP),
    }


def joint_meeting_counts(session, org_path, period_start, period_end) -> dict:
    start, end = period_bounds(period_start, period_end)
    first, last = _as_date(period_start, "统计开始日期"), _as_date(period_end, "统计结束日期")
    # A meeting held in the period was convened (its case started) before the period ended.
    rows = session.execute(select(Case.data).where(
        Case.process_id == JOINT_MEETING, _in_scope(org_path), Case.status != "cancelled",
        Case.started_at < end)).all()
    held = 0
    for (data,) in rows:
        held_on = (data or {}).get("held_on")
        if held_on and first <= date.fromisoformat(held_on[:10]) <= last:
            held += 1
    return {"held": held}


def problem_coordination_counts(session, org_path, period_start, period_end) -> dict:
    start, end = period_bounds(period_start, period_end)
    closed = _closed_cases(session, PROBLEM_COORDINATION, org_path, start, end)
    return {
        "opened": _count(session, _started(PROBLEM_COORDINATION, org_path, start, end)),
        "resolved": sum(1 for row in closed if (row.data or {}).get("outcome") == "resolved"),
    }


def report_statistics(session, org_path, period_start, period_end) -> dict:
    """All the figures of one report, with the scope and period they were counted for."""
    first, last = _as_date(period_start, "统计开始日期"), _as_date(period_end, "统计结束日期")
    return {
        "org_path": org_path,
        "period_start": first.isoformat(),
        "period_end": last.isoformat(),
        "rectifications": rectification_counts(session, org_path, first, last),
        "joint_meetings": joint_meeting_counts(session, org_path, first, last),
        "problem_coordinations": problem_coordination_counts(session, org_path, first, last),
    }
