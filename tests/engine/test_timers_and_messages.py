"""Acceptance: a file as Camunda Modeler writes it, driven through the public API and
`linkage tick`: three reminders, then the timeout path; in a second case, the message path."""
import json
from datetime import timedelta

from tests.conftest import FIXTURES, START


def tick(app, when):
    result = app.test_cli_runner().invoke(args=["tick", "--now", when.isoformat(), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def deploy(app, path):
    result = app.test_cli_runner().invoke(args=["deploy", str(path), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def kinds(api, case_id):
    status, body = api.call("GET", f"/cases/{case_id}/events?per_page=200")
    assert status == 200
    return [(e["kind"], e["element"]) for e in body["items"]]


def test_reminders_then_timeout_then_message_path(app, api):
    assert deploy(app, FIXTURES / "camunda_reminder.bpmn")[0]["process_id"] == "await_reply"
    status, case = api.call("POST", "/cases", {"process_id": "await_reply", "data": {"note": "漏水"}})
    assert status == 201 and case["status"] == "running"
    assert sorted(t["name"] for t in case["timers"]) == ["七日未回复", "每日提醒"]

    reminders = []
    for day in range(1, 9):
        out = tick(app, START + timedelta(days=day, minutes=1))
        reminders += [f for f in out["fired"] if f["element"] == "remind"]
        if day <= 3:
            assert len(reminders) == day
    assert len(reminders) == 3
    events = kinds(api, case["id"])
    assert events.count(("timer_fired", "remind")) == 3
    assert ("timer_fired", "timeout") in events
    status, case = api.call("GET", f"/cases/{case['id']}")
    assert [t["name"] for t in case["tasks"]] == ["escalate_review"]
    assert case["timers"] == []

    # Second case: the message ends the wait before any timer.
    status, other = api.call("POST", "/cases", {"process_id": "await_reply", "data": {"note": "电梯"}})
    status, body = api.call("POST", "/messages", {"name": "company_reply", "case_id": other["id"],
                                                   "data": {"reply": "已修复"}})
    assert status == 200 and body["delivered_to"] == [other["id"]]
    status, other = api.call("GET", f"/cases/{other['id']}")
    assert other["status"] == "completed" and other["data"]["reply"] == "已修复"
    events = kinds(api, other["id"])
    assert ("message_received", "wait_reply") in events and ("case_completed", None) in events
    assert not [e for e in events if e[0] == "timer_fired"]
    # Later ticks find nothing left of the finished case.
    assert [f for f in tick(app, START + timedelta(days=30))["fired"] if f["case_id"] == other["id"]] == []


def test_one_late_tick_catches_up_in_due_order(app, api):
    deploy(app, FIXTURES / "camunda_reminder.bpmn")
    status, case = api.call("POST", "/cases", {"process_id": "await_reply"})
    out = tick(app, START + timedelta(days=10))
    mine = [(f["element"], f["due_at"]) for f in out["fired"]
            if f["case_id"] == case["id"] and f["kind"] == "timer"]
    assert [m[0] for m in mine] == ["remind", "remind", "remind", "timeout"]
    assert [m[1] for m in mine] == sorted(m[1] for m in mine)
    # No timer is left; the escalation task it created now gets its own task reminders.
    later = tick(app, START + timedelta(days=11))["fired"]
    assert [f for f in later if f["kind"] == "timer"] == []
    assert {(f["kind"], f["element"]) for f in later} == {("reminder", "escalate_review")}


def test_tick_refuses_going_back_in_time(app):
    tick(app, START + timedelta(days=2))
    result = app.test_cli_runner().invoke(args=["tick", "--now", START.isoformat()])
    assert result.exit_code != 0 and "早于" in result.output


def test_message_by_correlation_and_nothing_waiting(app, api):
    deploy(app, FIXTURES / "camunda_reminder.bpmn")
    _, a = api.call("POST", "/cases", {"process_id": "await_reply", "data": {"order_no": "ZG-1"}})
    _, b = api.call("POST", "/cases", {"process_id": "await_reply", "data": {"order_no": "ZG-2"}})
    status, body = api.call("POST", "/messages", {"name": "company_reply", "correlation": {"order_no": "ZG-2"}})
    assert status == 200 and body["delivered_to"] == [b["id"]]
    status, body = api.call("POST", "/messages", {"name": "company_reply", "correlation": {"order_no": "ZG-2"}})
    assert body["delivered_to"] == []
    status, body = api.call("POST", "/messages", {"name": "company_reply"})
    assert status == 422
