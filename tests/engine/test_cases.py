"""Cases and tasks through the service layer: forms, races, failures, history, BPMN features."""
import json
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from engine.errors import Conflict, NotFound, ValidationFailed
from engine.models import Case, Event, TaskRow
from engine.runtime import find_task
from tests.conftest import START
from tests.engine.bpmn_snippets import CALLEE, CALLER, LOOP, script_process


def ready_tasks(engine, case_id):
    with engine.db.unit_of_work(write=False) as s:
        return s.scalars(select(TaskRow).where(TaskRow.case_id == case_id, TaskRow.state == "ready")).all()


def case_row(engine, case_id):
    with engine.db.unit_of_work(write=False) as s:
        return s.get(Case, case_id)


def event_kinds(engine, case_id):
    with engine.db.unit_of_work(write=False) as s:
        return [(e.kind, e.element) for e in s.scalars(select(Event).where(Event.case_id == case_id).order_by(Event.id))]


class ScoreForm:
    """A form of ours: score 0-100 required."""

    def load(self, data, context=None):
        score = data.get("score")
        if not isinstance(score, int) or not 0 <= score <= 100:
            raise ValidationFailed("表单填写有误", fields={"score": ["评分必须是 0 到 100 的整数"]})
        return {"score": score}

    def json_schema(self):
        return {"type": "object", "required": ["score"],
                "properties": {"score": {"type": "integer", "title": "评分", "minimum": 0, "maximum": 100}}}


def test_two_concurrent_completions_one_wins_one_conflicts(engine, admin):
    engine.deploy([("loop.bpmn", LOOP)], admin)
    case = engine.start_case(admin, "loop")
    task = ready_tasks(engine, case.id)[0]
    version = case_row(engine, case.id).version
    barrier, outcomes = threading.Barrier(2), []

    def complete():
        barrier.wait()
        try:
            engine.complete_task(admin, task.id, {"note": threading.current_thread().name})
            outcomes.append(200)
        except Conflict:
            outcomes.append(409)

    threads = [threading.Thread(target=complete, name=f"t{i}") for i in range(2)]
    [t.start() for t in threads]
    [t.join(30) for t in threads]
    assert sorted(outcomes) == [200, 409]
    assert event_kinds(engine, case.id).count(("task_completed", "report")) == 1
    assert [t.name for t in ready_tasks(engine, case.id)] == ["verify"]
    assert case_row(engine, case.id).version == version + 1


def test_a_stale_case_version_is_a_conflict_and_nothing_is_written(engine, admin):
    engine.deploy([("loop.bpmn", LOOP)], admin)
    case = engine.start_case(admin, "loop")
    task = ready_tasks(engine, case.id)[0]
    with pytest.raises(Conflict):
        with engine.db.unit_of_work() as session:
            run = engine.runtime.open(session, case.id, "admin")
            # Another writer commits in between (simulated inside the same transaction on the row).
            session.execute(update(Case).where(Case.id == case.id).values(version=Case.version + 1)
                            .execution_options(synchronize_session=False))
            find_task(run.workflow, task.id).run()
            run.run_engine()
            run.save()
    assert [t.name for t in ready_tasks(engine, case.id)] == ["report"]
    assert ("task_completed", "report") not in event_kinds(engine, case.id)


def test_invalid_form_data_is_refused_and_changes_nothing(engine, admin):
    engine.forms.register("loop.report", ScoreForm())
    engine.deploy([("loop.bpmn", LOOP)], admin)
    case = engine.start_case(admin, "loop", {"title": "整改"})
    before = case_row(engine, case.id)
    task = ready_tasks(engine, case.id)[0]
    with pytest.raises(ValidationFailed) as refused:
        engine.complete_task(admin, task.id, {"score": 101})
    assert refused.value.fields == {"score": ["评分必须是 0 到 100 的整数"]}
    after = case_row(engine, case.id)
    assert (after.version, after.data, after.state) == (before.version, before.data, before.state)
    engine.complete_task(admin, task.id, {"score": 90, "ignored": "x"})
    assert case_row(engine, case.id).data["score"] == 90
    assert "ignored" not in case_row(engine, case.id).data


def test_a_failing_script_puts_the_case_in_error_with_a_message(engine, admin):
    engine.deploy([("s.bpmn", script_process("total = missing_value + 1"))], admin)
    case = engine.start_case(admin, "scripted")
    assert case.status == "error" and "missing_value" in case.error
    assert ("case_error", None) in event_kinds(engine, case.id)
    assert ready_tasks(engine, case.id) == []


def test_a_script_failing_after_a_completion_keeps_the_case_as_it_was_in_error(engine, admin):
    flow = script_process("total = 1").replace(b'<bpmn:endEvent id="end">', (
        b'<bpmn:scriptTask id="after" name="\xe6\xb1\x87\xe6\x80\xbb" scriptFormat="python">'
        b'<bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>'
        b'<bpmn:script>total = total / zero_divisor</bpmn:script></bpmn:scriptTask>'
        b'<bpmn:sequenceFlow id="f4" sourceRef="after" targetRef="end"/>'
        b'<bpmn:endEvent id="end">')).replace(
        b'<bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="end"/>',
        b'<bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="after"/>').replace(
        b'<bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>', b'<bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>')
    engine.deploy([("s.bpmn", flow)], admin)
    case = engine.start_case(admin, "scripted")
    before = case_row(engine, case.id)
    task = ready_tasks(engine, case.id)[0]
    failed = engine.complete_task(admin, task.id, {"zero_divisor": 0})
    assert failed.status == "error" and "ZeroDivisionError" in failed.error
    after = case_row(engine, case.id)
    assert after.state == before.state and after.status == "error"
    assert ("case_error", None) in event_kinds(engine, case.id)


def test_restricted_environment_refuses_escapes_at_run_time(engine):
    from engine.scripts import ClockScriptEngine, ScriptRefused
    environment = ClockScriptEngine(engine.clock).environment
    for hostile in ("().__class__", "open('/etc/hostname')", "__import__('os')"):
        with pytest.raises((ScriptRefused, NameError)):
            environment.evaluate(hostile, {})
    data = {"a": 2}
    environment.execute("b = a * 3\ndeadline = add_working_days('2025-09-30', 1)", data)
    assert data == {"a": 2, "b": 6, "deadline": "2025-10-09"}


def test_script_data_flows_and_uses_the_engine_clock(engine, admin):
    engine.deploy([("s.bpmn", script_process("stamp = now().isoformat()"))], admin)
    case = engine.start_case(admin, "scripted")
    assert case.status == "running"
    assert case.data["stamp"] == START.isoformat()


def test_history_stays_flat_across_hundreds_of_loops(engine, admin):
    engine.deploy([("loop.bpmn", LOOP)], admin)
    case = engine.start_case(admin, "loop")
    sizes = []
    for i in range(400):  # SpiffWorkflow alone dies near 330 passes with a boundary timer
        report = ready_tasks(engine, case.id)[0]
        engine.complete_task(admin, report.id, {})
        verify = ready_tasks(engine, case.id)[0]
        engine.complete_task(admin, verify.id, {"accepted": i == 399})
        sizes.append(len(case_row(engine, case.id).state or ""))
    row = case_row(engine, case.id)
    assert row.status == "completed"
    assert max(sizes[:-1]) < 1.2 * sizes[5]
    assert event_kinds(engine, case.id).count(("task_completed", "verify")) == 400


def test_boundary_timer_still_fires_after_many_loops(engine, admin):
    engine.deploy([("loop.bpmn", LOOP)], admin)
    case = engine.start_case(admin, "loop")
    for _ in range(50):
        engine.complete_task(admin, ready_tasks(engine, case.id)[0].id, {})
        engine.complete_task(admin, ready_tasks(engine, case.id)[0].id, {"accepted": False})
    engine.tick(START + timedelta(days=3, minutes=1))
    assert event_kinds(engine, case.id)[-1] == ("timer_fired", "nag")


def test_human_task_due_date_comes_from_the_engine_clock(engine, admin):
    engine.deploy([("loop.bpmn", LOOP)], admin)
    case = engine.start_case(admin, "loop")
    assert ready_tasks(engine, case.id)[0].due_at == START + timedelta(days=5)


def test_call_activity_event_subprocess_send_task_and_time_date(engine, admin):
    engine.deploy([("callee.bpmn", CALLEE)], admin)
    engine.deploy([("caller.bpmn", CALLER)], admin)
    case = engine.start_case(admin, "caller")
    kinds = event_kinds(engine, case.id)
    assert ("message_sent", None) in kinds and ("task_completed", "notify") in kinds
    [sub_task] = ready_tasks(engine, case.id)
    assert sub_task.name == "sub_task" and sub_task.candidate_groups == ["company"]
    engine.tick(START + timedelta(days=10, minutes=1))  # the non-interrupting event subprocess
    assert ("task_completed", "note_late") in event_kinds(engine, case.id)
    engine.complete_task(admin, sub_task.id, {"done": True})
    assert ("task_completed", "call") in event_kinds(engine, case.id)
    assert case_row(engine, case.id).status == "running"  # waits for 2026-04-01 09:00 +08:00
    engine.tick(START + timedelta(days=31))
    assert case_row(engine, case.id).status == "completed"
    assert ("timer_fired", "until") in event_kinds(engine, case.id)


def test_claim_and_cancel(engine, admin):
    engine.deploy([("loop.bpmn", LOOP)], admin)
    case = engine.start_case(admin, "loop")
    task = ready_tasks(engine, case.id)[0]
    assert engine.claim_task(admin, task.id).assignee == "admin"
    engine.cancel_case(admin, case.id, "重复立案")
    assert case_row(engine, case.id).status == "cancelled"
    assert ready_tasks(engine, case.id) == []
    with pytest.raises(Conflict):
        engine.complete_task(admin, task.id, {})
    with pytest.raises(NotFound):
        engine.complete_task(admin, "00000000-0000-0000-0000-000000000000", {})

