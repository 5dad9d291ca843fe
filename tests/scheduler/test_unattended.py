"""Acceptance: deadlines that slip move on by themselves, through the service layer and the
engine clock, with nobody acting.

A rectification the company leaves alone is reminded, then escalated to the street by the
process's own deadline timer; the street is then reminded in turn. A task whose process does not
model its deadline (the community's verification) is escalated by the scheduler through
`Engine.escalate_task`: to the street, then to the housing bureau, each once, even when the
service was down while the thresholds passed.
"""
import json
from datetime import datetime, timedelta

from engine.calendar import CHINA_TZ
from tests.scheduler.conftest import REPORT, channels, events, issue_rectification, ready_task


def beijing(*args):
    return datetime(*args, tzinfo=CHINA_TZ)


def tick_daily(engine, first, last, hour=9):
    """Tick every day at `hour` (Beijing) from `first` to `last` inclusive; collect fired items."""
    fired, day = [], first
    while day <= last:
        fired += engine.tick(datetime.combine(day, datetime.min.time(), CHINA_TZ)
                             + timedelta(hours=hour, minutes=1))[1]
        day += timedelta(days=1)
    return fired


def test_rectification_left_alone_is_reminded_then_escalated_to_the_street(engine, clerk):
    channels(engine)  # in-app only: no mail server or webhook configured
    case, report = issue_rectification(engine, clerk)
    fired = tick_daily(engine, beijing(2026, 3, 3).date(), beijing(2026, 3, 24).date())
    reminders = [(f["element"], f["reminder"], f["due_at"]) for f in fired if f["kind"] == "reminder"]
    assert reminders == [
        ("submit_report", "before", "2026-03-18T01:00:00+00:00"),
        ("submit_report", "before", "2026-03-22T01:00:00+00:00"),
        ("submit_report", "due", "2026-03-23T01:00:00+00:00"),
    ]
    timers = [f["element"] for f in fired if f["kind"] == "timer"]
    assert timers == ["remind_company", "deadline_passed"]  # halfway reminder, then the deadline

    sent = [(e.at, e.detail["recipient"], e.detail["reminder"])
            for e in events(engine, case.id, "reminder_sent")]
    assert sorted({r for _, r, _ in sent}) == ["company", "company2"]
    assert len(sent) == 6
    # Escalated to the street by the deadline timer: the street's task is ready, nobody acted.
    street_task = ready_task(engine, case.id, "street_handle")
    assert street_task.candidate_groups == ["street"]
    completed = events(engine, case.id, "task_completed")
    assert [(e.element, e.actor) for e in completed if e.actor not in ("engine", "scheduler")] == [
        ("issue_order", "clerk")]
    assert "mark_overdue" in [e.element for e in completed]

    # The street is reminded of its own deadline, with nobody acting either.
    due_day = street_task.due_at.astimezone(CHINA_TZ).date()
    later = tick_daily(engine, beijing(2026, 3, 25).date(), due_day)
    street_reminders = [f for f in later if f["kind"] == "reminder"]
    assert [f["element"] for f in street_reminders] == ["street_handle"] * 3
    street_sent = [e.detail for e in events(engine, case.id, "reminder_sent")
                   if e.detail["task_id"] == street_task.id]
    assert [d["recipient"] for d in street_sent] == ["street"] * 3
    assert [d["reminder"] for d in street_sent] == ["before", "before", "due"]


def verify_task(engine, clerk, company):
    case, report = issue_rectification(engine, clerk)
    engine.complete_task(company, report.id, dict(REPORT))
    task = ready_task(engine, case.id, "verify")
    assert task.candidate_groups == ["clerk"]
    return case, task


def test_an_overdue_task_without_a_deadline_timer_is_escalated_street_then_bureau(
        engine, clerk, company):
    channels(engine)
    case, task = verify_task(engine, clerk, company)
    due_day = task.due_at.astimezone(CHINA_TZ).date()
    assert due_day.isoformat() == "2026-03-09"  # 5 working days after Monday 2 March
    fired = tick_daily(engine, beijing(2026, 3, 3).date(), beijing(2026, 3, 25).date())
    escalations = [f for f in fired if f["kind"] == "escalation"]
    # 3 overdue working days after Monday 9 March: Thursday 12 March; 3 more: Tuesday 17 March.
    assert [f["due_at"] for f in escalations] == ["2026-03-12T01:00:00+00:00",
                                                  "2026-03-17T01:00:00+00:00"]
    escalated = events(engine, case.id, "escalated")
    assert [(e.actor, e.detail["from"], e.detail["to"]) for e in escalated] == [
        ("scheduler", "clerk", "street"), ("scheduler", "street", "bureau")]
    assert "系统第1次自动上报" in escalated[0].detail["reason"]
    row = ready_task(engine, case.id, "verify")
    assert row.candidate_groups == ["clerk", "street", "bureau"]
    # Overdue reminders went every working day, first to the community, then to all levels.
    recipients = {}
    for e in events(engine, case.id, "reminder_sent"):
        if e.detail["task_id"] == task.id:
            recipients.setdefault(e.detail["recipient"], 0)
            recipients[e.detail["recipient"]] += 1
    assert set(recipients) == {"clerk", "street", "bureau"}
    assert recipients["clerk"] > recipients["street"] > recipients["bureau"] > 0


def test_after_downtime_escalations_fire_once_in_order_and_reminders_come_as_one(
        engine, clerk, company):
    channels(engine)
    case, task = verify_task(engine, clerk, company)
    _, fired = engine.tick(beijing(2026, 3, 25, 10))  # the service was down for three weeks
    assert [(f["kind"], f["due_at"]) for f in fired if f["kind"] == "escalation"] == [
        ("escalation", "2026-03-12T01:00:00+00:00"), ("escalation", "2026-03-17T01:00:00+00:00")]
    reminder_moments = [f["due_at"] for f in fired if f["kind"] == "reminder"]
    assert reminder_moments == sorted(reminder_moments) and len(reminder_moments) > 10
    sent = [e.detail for e in events(engine, case.id, "reminder_sent") if e.detail["task_id"] == task.id]
    # One message per person covering every missed moment, not a burst of a dozen each.
    assert sorted(d["recipient"] for d in sent) == ["bureau", "clerk", "street"]
    assert all(len(d["occurrences"]) == len(reminder_moments) for d in sent)
    assert [e.detail["to"] for e in events(engine, case.id, "escalated")] == ["street", "bureau"]
    # Nothing fires twice: a later sweep at the same time finds nothing, and at the top level
    # the escalation series is over.
    assert engine.tick(beijing(2026, 3, 25, 10))[1] == []
    later = engine.tick(beijing(2026, 4, 30, 10))[1]
    assert [f for f in later if f["kind"] == "escalation"] == []


def test_rules_are_data_per_process_and_task(engine, clerk, company, database, clock):
    from web.app import create_app
    app = create_app({"TESTING": True, "DATABASE_URL": database.url, "CLOCK": clock})
    try:
        runner = app.test_cli_runner()
        result = runner.invoke(args=["reminders", "set", "--process", "rectification", "--task",
                                     "verify", "--before-working-days", "2", "--before-days", "",
                                     "--no-at-due", "--overdue-every", "0", "--escalate-after", "never"])
        assert result.exit_code == 0, result.output
        refused = runner.invoke(args=["reminders", "set", "--process", "rectification",
                                      "--channels", "sms", "--hour", "25"])
        assert refused.exit_code == 1
        assert "未知的通道 sms" in refused.output and "0 至 23" in refused.output
        listed = runner.invoke(args=["reminders", "list", "--json"])
        assert {(r["process_id"], r["task"]) for r in json.loads(listed.output)} == {
            (None, None), ("rectification", "verify")}
    finally:
        app.extensions["linkage"].db.dispose()
    channels(engine)
    case, task = verify_task(engine, clerk, company)
    fired = tick_daily(engine, beijing(2026, 3, 3).date(), beijing(2026, 3, 25).date())
    mine = [(f["kind"], f["due_at"]) for f in fired if f.get("task_id") == task.id]
    # Only "2 working days before" (Thursday 5 March); no due-day, overdue or escalation.
    assert mine == [("reminder", "2026-03-05T01:00:00+00:00")]


def test_an_extended_deadline_moves_the_reminders_with_it(engine, clerk, street):
    channels(engine)
    case, task = issue_rectification(engine, clerk)
    engine.tick(beijing(2026, 3, 18, 9, 1))  # "3 working days before 23 March" is sent
    engine.extend_deadline(street, task.id, beijing(2026, 4, 3, 23, 59, 59), "企业申请延期，街道同意")
    fired = tick_daily(engine, beijing(2026, 3, 19).date(), beijing(2026, 4, 3).date())
    assert [(f["reminder"], f["due_at"]) for f in fired if f["kind"] == "reminder"] == [
        ("before", "2026-03-31T01:00:00+00:00"),  # 3 working days before Friday 3 April
        ("before", "2026-04-02T01:00:00+00:00"),  # 1 day before
        ("due", "2026-04-03T01:00:00+00:00")]
    assert [f for f in fired if f["kind"] in ("timer", "escalation")] == []  # nothing at 23 March
    assert ready_task(engine, case.id, "submit_report").id == task.id


def test_an_escalation_that_keeps_failing_is_retried_then_kept_for_the_administrator(
        engine, clerk, company, database, clock, monkeypatch):
    channels(engine)
    case, task = verify_task(engine, clerk, company)
    calls = []

    def broken(*args, **kwargs):
        calls.append(engine.clock.now())
        raise RuntimeError("数据库连接中断")
    monkeypatch.setattr(engine, "escalate_task", broken)
    first = beijing(2026, 3, 12, 9)
    for offset in (0, 59, 60, 180, 420, 900, 5000):  # backoff 60 s, 120 s, 240 s, 480 s
        engine.tick(first + timedelta(seconds=offset))
    assert calls == [first] * 5  # each attempt at the escalation's own moment, five in all
    monkeypatch.undo()

    from web.app import create_app
    app = create_app({"TESTING": True, "DATABASE_URL": database.url, "CLOCK": clock})
    try:
        runner = app.test_cli_runner()
        (failed,) = json.loads(runner.invoke(args=["reminders", "failed", "--json"]).output)
        assert failed["kind"] == "escalation" and failed["task_id"] == task.id
        assert failed["attempts"] == 5 and "数据库连接中断" in failed["last_error"]
        assert runner.invoke(args=["reminders", "retry", str(failed["id"])]).exit_code == 0
    finally:
        app.extensions["linkage"].db.dispose()
    _, fired = engine.tick(first + timedelta(seconds=6000))
    assert [(f["kind"], f["due_at"]) for f in fired if f["kind"] == "escalation"] == [
        ("escalation", "2026-03-12T01:00:00+00:00")]
    assert [e.detail["to"] for e in events(engine, case.id, "escalated")] == ["street"]
