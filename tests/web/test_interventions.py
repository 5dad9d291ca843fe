"""Supervisors' interventions: reassign a task, extend its deadline (with the deadline timer),
through the service layer, the API and the board."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine import queries
from engine.access import SYSTEM
from engine.errors import Conflict, Forbidden, ValidationFailed
from engine.models import Event, TimerRow
from engine.users import add_user
from tests.web.test_pages import events_of, task_row, text

DEADLINE_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Definitions_web_deadline"
    targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="web_deadline" name="限期回复" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="reply" name="社区回复" camunda:candidateGroups="clerk" camunda:dueDate="P2D">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:boundaryEvent id="late" name="期限届满" attachedToRef="reply">
      <bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDuration>P2D</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:boundaryEvent id="remind" name="提醒" cancelActivity="false" attachedToRef="reply">
      <bpmn:outgoing>f4</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDuration>P1D</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:endEvent id="done"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="late_end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="reminded"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="reply" />
    <bpmn:sequenceFlow id="f2" sourceRef="reply" targetRef="done" />
    <bpmn:sequenceFlow id="f3" sourceRef="late" targetRef="late_end" />
    <bpmn:sequenceFlow id="f4" sourceRef="remind" targetRef="reminded" />
  </bpmn:process>
</bpmn:definitions>
""".encode("utf-8")


@pytest.fixture
def deadline_case(engine, clerk):
    engine.deploy([("web_deadline.bpmn", DEADLINE_BPMN)], SYSTEM)
    case = engine.start_case(clerk, "web_deadline", {"title": "限期回复"}, "C0001")
    with engine.db.unit_of_work(write=False) as db:
        task = queries.case_tasks(db, case.id)[0]
    return case, task


def timers_of(engine, case_id):
    with engine.db.unit_of_work(write=False) as db:
        return {t.element: t.due_at for t in db.scalars(select(TimerRow).where(TimerRow.case_id == case_id))}


def test_extend_deadline_moves_the_deadline_timer_only(engine, principal_of, clock, deadline_case):
    case, task = deadline_case
    old = task.due_at
    assert timers_of(engine, case.id) == {"late": old, "remind": old - timedelta(days=1)}
    street = principal_of("street")
    new_due = old + timedelta(days=3)
    engine.extend_deadline(street, task.id, new_due, "  台风影响  ")
    assert task_row(engine, task.id).due_at == new_due
    assert timers_of(engine, case.id) == {"late": new_due, "remind": old - timedelta(days=1)}
    [event] = events_of(engine, case.id, "deadline_extended")
    assert event.actor == "street" and event.element == "reply"
    assert event.detail == {"task_id": task.id, "from": old.isoformat(), "to": new_due.isoformat(),
                            "reason": "台风影响", "timers": ["late"]}
    clock.set(old + timedelta(hours=1))
    engine.tick()  # the old deadline passes: nothing happens to the task
    assert task_row(engine, task.id).state == "ready"
    clock.set(new_due)
    engine.tick()
    assert task_row(engine, task.id).state == "cancelled"


def test_extend_deadline_refusals(engine, principal_of, clerk, deadline_case, review_case):
    case, task = deadline_case
    street = principal_of("street")
    later = task.due_at + timedelta(days=1)
    with pytest.raises(Forbidden):
        engine.extend_deadline(clerk, task.id, later, "理由")
    with pytest.raises(ValidationFailed) as refused:
        engine.extend_deadline(street, task.id, later, " ")
    assert refused.value.fields == {"reason": ["必填"]}
    with pytest.raises(ValidationFailed) as refused:
        engine.extend_deadline(street, task.id, task.due_at - timedelta(hours=1), "提前")
    assert "晚于原期限" in refused.value.fields["due_at"][0]
    _, review = review_case
    engine.complete_task(clerk, review.id, {"opinion": "好", "score": 5, "passed": True})
    with pytest.raises(Conflict):
        engine.extend_deadline(street, review.id, later, "已完成")
    assert task_row(engine, task.id).due_at == task.due_at
    assert not events_of(engine, case.id, "deadline_extended")


def test_reassign(engine, principal_of, clerk, review_case):
    case, task = review_case
    street = principal_of("street")
    with engine.db.unit_of_work() as db:
        add_user(db, "clerk2", "pw-1234", "clerk", "140502001002", now=engine.clock.now())
    with pytest.raises(Forbidden):
        engine.reassign_task(clerk, task.id, "clerk")
    for username, message in (("nobody", "用户不存在或已停用"), ("clerk2", "该用户不能办理此任务"),
                              ("company", "该用户不能办理此任务"), ("", "请填写改派给哪位用户")):
        with pytest.raises(ValidationFailed) as refused:
            engine.reassign_task(street, task.id, username)
        assert refused.value.message == message
    engine.reassign_task(street, task.id, "clerk", "张专干负责")
    assert task_row(engine, task.id).assignee == "clerk"
    with pytest.raises(ValidationFailed):
        engine.reassign_task(street, task.id, "clerk")
    [event] = events_of(engine, case.id, "reassigned")
    assert event.detail == {"task_id": task.id, "from": None, "to": "clerk", "reason": "张专干负责"}


def test_api_reassign_and_extend(app, engine, client_factory, review_case):
    case, task = review_case
    http = client_factory().http

    def as_user(username):
        token = http.post("/api/v1/auth/token", json={"username": username, "password": "demo"})
        return {"Authorization": f"Bearer {token.get_json()['token']}"}

    street, clerk = as_user("street"), as_user("clerk")
    url = f"/api/v1/tasks/{task.id}"
    assert http.post(url + "/reassign", json={"username": "clerk"}, headers=clerk).status_code == 403
    missing = http.post(url + "/reassign", json={}, headers=street)
    assert missing.status_code == 422 and "username" in missing.get_json()["error"]["fields"]
    done = http.post(url + "/reassign", json={"username": "clerk", "reason": "就近办理"}, headers=street)
    assert done.status_code == 200 and done.get_json()["tasks"][0]["assignee"] == "clerk"
    new_due = (task.due_at + timedelta(days=2)).isoformat()
    naive = http.post(url + "/extend", json={"due_at": "2024-05-20T09:00:00", "reason": "路面施工"},
                      headers=street)
    assert naive.status_code == 422 and "due_at" in naive.get_json()["error"]["fields"]
    extended = http.post(url + "/extend", json={"due_at": new_due, "reason": "路面施工"}, headers=street)
    assert extended.status_code == 200
    assert extended.get_json()["tasks"][0]["due_at"] == (task.due_at + timedelta(days=2)).isoformat()
    assert http.post("/api/v1/tasks/nope/extend", json={"due_at": new_due, "reason": "不存在"},
                     headers=street).status_code == 404


def test_board_reassign_and_extend(client, engine, clock, review_case):
    case, task = review_case
    clock.advance(days=3)
    client.login("street")
    board = text(client.get("/board"))
    assert f'action="/tasks/{task.id}/reassign"' in board and f'action="/tasks/{task.id}/extend"' in board
    refused = client.post(f"/tasks/{task.id}/reassign", {"username": "company", "next": "/board"})
    assert refused.status_code == 302 and "该用户不能办理此任务" in text(client.get("/board"))
    client.post(f"/tasks/{task.id}/reassign", {"username": "clerk", "reason": "专人负责", "next": "/board"})
    assert task_row(engine, task.id).assignee == "clerk"
    assert "已将任务「社区审核材料」改派给 clerk" in text(client.get("/board"))
    client.post(f"/tasks/{task.id}/extend", {"due": "2024-05-31", "reason": "", "next": "/board"})
    assert "请填写延期原因" in text(client.get("/board"))
    client.post(f"/tasks/{task.id}/extend", {"due": "31/05/2024", "reason": "x", "next": "/board"})
    assert "请输入有效的日期" in text(client.get("/board"))
    client.post(f"/tasks/{task.id}/extend", {"due": "2024-05-31", "reason": "等待材料", "next": "/board"})
    assert "期限延至 2024-05-31 23:59" in text(client.get("/board"))
    assert task_row(engine, task.id).due_at.isoformat() == "2024-05-31T15:59:59+00:00"
    page = text(client.get(f"/cases/{case.id}"))
    assert "改派" in page and "专人负责" in page and "延期" in page and "等待材料" in page
    with engine.db.unit_of_work(write=False) as db:
        kinds = db.scalars(select(Event.kind).where(Event.case_id == case.id)).all()
    assert {"reassigned", "deadline_extended"} <= set(kinds)
    client.post("/logout")
    client.login("clerk")
    assert client.post(f"/tasks/{task.id}/extend", {"due": "2024-06-30", "reason": "x"}).status_code == 403
