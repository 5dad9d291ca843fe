"""Cases starting cases by BPMN messages, and service handlers called from scripts.

A parent throws `start_child` with a `message_data` payload; the engine starts a case of the
process whose message start event catches it, in the parent's transaction; a payload naming
`target_case_id` reaches that running case instead. Handlers run in the same transaction.
"""
import pytest
from sqlalchemy import func, select

from engine import queries
from engine.access import SYSTEM
from engine.models import Case, Event
from tests.engine.bpmn_snippets import HEAD

CHILD = (HEAD + """
<bpmn:message id="m_start" name="start_child"/>
<bpmn:process id="child" name="子案件" isExecutable="true">
  <bpmn:startEvent id="by_hand"><bpmn:outgoing>h</bpmn:outgoing></bpmn:startEvent>
  <bpmn:startEvent id="by_message" name="收到通知"><bpmn:outgoing>m</bpmn:outgoing>
    <bpmn:messageEventDefinition messageRef="m_start"/></bpmn:startEvent>
  <bpmn:exclusiveGateway id="merge"><bpmn:incoming>h</bpmn:incoming><bpmn:incoming>m</bpmn:incoming><bpmn:outgoing>t</bpmn:outgoing></bpmn:exclusiveGateway>
  <bpmn:userTask id="handle" name="办理"><bpmn:incoming>t</bpmn:incoming><bpmn:outgoing>e</bpmn:outgoing></bpmn:userTask>
  <bpmn:endEvent id="end"><bpmn:incoming>e</bpmn:incoming></bpmn:endEvent>
  <bpmn:sequenceFlow id="h" sourceRef="by_hand" targetRef="merge"/>
  <bpmn:sequenceFlow id="m" sourceRef="by_message" targetRef="merge"/>
  <bpmn:sequenceFlow id="t" sourceRef="merge" targetRef="handle"/>
  <bpmn:sequenceFlow id="e" sourceRef="handle" targetRef="end"/>
</bpmn:process></bpmn:definitions>""").encode()

PARENT = (HEAD + """
<bpmn:message id="m_start" name="start_child"/>
<bpmn:message id="m_answer" name="child_answer"/>
<bpmn:process id="parent" name="父案件" isExecutable="true">
  <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
  <bpmn:scriptTask id="prepare" name="准备" scriptFormat="python"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    <bpmn:script>message_data = {"title": "子案件：" + topic, "topic": topic, "deadline_days": 15}</bpmn:script></bpmn:scriptTask>
  <bpmn:intermediateThrowEvent id="start_it" name="发起子案件"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    <bpmn:messageEventDefinition messageRef="m_start"/></bpmn:intermediateThrowEvent>
  <bpmn:intermediateCatchEvent id="await_answer" name="等待答复"><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
    <bpmn:messageEventDefinition messageRef="m_answer"/></bpmn:intermediateCatchEvent>
  <bpmn:endEvent id="end"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="prepare"/>
  <bpmn:sequenceFlow id="f2" sourceRef="prepare" targetRef="start_it"/>
  <bpmn:sequenceFlow id="f3" sourceRef="start_it" targetRef="await_answer"/>
  <bpmn:sequenceFlow id="f4" sourceRef="await_answer" targetRef="end"/>
</bpmn:process></bpmn:definitions>""").encode()

ANSWERING_CHILD = CHILD.replace(b'id="child" name="\xe5\xad\x90\xe6\xa1\x88\xe4\xbb\xb6"', b'id="child" name="answering"').replace(
    b'<bpmn:endEvent id="end"><bpmn:incoming>e</bpmn:incoming></bpmn:endEvent>',
    b'<bpmn:scriptTask id="reply" scriptFormat="python"><bpmn:incoming>e</bpmn:incoming><bpmn:outgoing>r</bpmn:outgoing>'
    b'<bpmn:script>message_data = {"target_case_id": parent_case_id, "answer": "done"}</bpmn:script></bpmn:scriptTask>'
    b'<bpmn:intermediateThrowEvent id="answer"><bpmn:incoming>r</bpmn:incoming><bpmn:outgoing>x</bpmn:outgoing>'
    b'<bpmn:messageEventDefinition messageRef="m_answer"/></bpmn:intermediateThrowEvent>'
    b'<bpmn:endEvent id="end"><bpmn:incoming>x</bpmn:incoming></bpmn:endEvent>'
    b'<bpmn:sequenceFlow id="x" sourceRef="answer" targetRef="end"/>'
    b'<bpmn:sequenceFlow id="r" sourceRef="reply" targetRef="answer"/>'
).replace(b'<bpmn:sequenceFlow id="e" sourceRef="handle" targetRef="end"/>',
          b'<bpmn:sequenceFlow id="e" sourceRef="handle" targetRef="reply"/>').replace(
    b'<bpmn:message id="m_start" name="start_child"/>',
    b'<bpmn:message id="m_start" name="start_child"/><bpmn:message id="m_answer" name="child_answer"/>')


def _cases(engine, process_id):
    with engine.db.unit_of_work(write=False) as session:
        return session.scalars(select(Case).where(Case.process_id == process_id)).all()


def _kinds(engine, case_id):
    with engine.db.unit_of_work(write=False) as session:
        return [(e.kind, e.detail) for e in queries.list_events(session, SYSTEM, case_id).items]


def test_a_thrown_message_starts_a_case_at_its_message_start(engine, admin):
    engine.deploy([("child.bpmn", CHILD), ("parent.bpmn", PARENT)], admin)
    parent = engine.start_case(admin, "parent", {"topic": "电梯维修"})
    children = _cases(engine, "child")
    assert len(children) == 1
    child = children[0]
    assert child.title == "子案件：电梯维修"
    assert child.data["topic"] == "电梯维修" and child.data["deadline_days"] == 15
    assert child.data["parent_case_id"] == parent.id and "message_data" not in child.data
    tasks = engine_tasks(engine, child.id)
    assert [t.name for t in tasks] == ["handle"]
    started = [d for k, d in _kinds(engine, child.id) if k == "case_started"][0]
    assert started["message"] == "start_child" and started["parent_case_id"] == parent.id
    linked = [d for k, d in _kinds(engine, parent.id) if k == "case_linked"]
    assert linked == [{"name": "start_child", "case_id": child.id, "process_id": "child"}]


def test_a_hand_started_child_takes_its_none_start(engine, admin):
    engine.deploy([("child.bpmn", CHILD)], admin)
    case = engine.start_case(admin, "child", {})
    assert [t.name for t in engine_tasks(engine, case.id)] == ["handle"]


def test_a_message_with_target_case_id_answers_the_waiting_parent(engine, admin):
    engine.deploy([("child.bpmn", ANSWERING_CHILD), ("parent.bpmn", PARENT)], admin)
    parent = engine.start_case(admin, "parent", {"topic": "停车秩序"})
    child = _cases(engine, "child")[0]
    task = engine_tasks(engine, child.id)[0]
    engine.complete_task(admin, task.id, {})
    with engine.db.unit_of_work(write=False) as session:
        parent_row, child_row = session.get(Case, parent.id), session.get(Case, child.id)
        assert child_row.status == "completed"
        assert parent_row.status == "completed"
        assert parent_row.data["answer"] == "done" and parent_row.data["from_case_id"] == child.id


def test_a_message_nobody_starts_on_is_recorded_not_lost_silently(engine, admin):
    engine.deploy([("parent.bpmn", PARENT)], admin)
    parent = engine.start_case(admin, "parent", {"topic": "无人接收"})
    undelivered = [d for k, d in _kinds(engine, parent.id) if k == "message_undelivered"]
    assert undelivered and undelivered[0]["name"] == "start_child"


def test_a_failing_child_leaves_no_half_case_and_the_parent_goes_on(engine, admin):
    broken = CHILD.replace(b'<bpmn:userTask id="handle" name="\xe5\x8a\x9e\xe7\x90\x86">',
                           b'<bpmn:scriptTask id="handle" scriptFormat="python"><bpmn:script>x = missing_name + 1</bpmn:script>'
                           ).replace(b'</bpmn:userTask>', b'</bpmn:scriptTask>')
    engine.deploy([("child.bpmn", broken), ("parent.bpmn", PARENT)], admin)
    parent = engine.start_case(admin, "parent", {"topic": "出错"})
    assert _cases(engine, "child") == []
    undelivered = [d for k, d in _kinds(engine, parent.id) if k == "message_undelivered"]
    assert undelivered[0]["process_id"] == "child" and "missing_name" in undelivered[0]["reason"]
    with engine.db.unit_of_work(write=False) as session:
        assert session.get(Case, parent.id).status == "running"
        assert session.scalar(select(func.count()).select_from(Event)
                              .where(Event.case_id.not_in([parent.id]))) == 0


HANDLED = (HEAD + """
<bpmn:process id="handled" name="调用服务" isExecutable="true">
  <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
  <bpmn:scriptTask id="count" name="统计" scriptFormat="python"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    <bpmn:script>stats = call_service("count_cases", process_id="handled")</bpmn:script></bpmn:scriptTask>
  <bpmn:userTask id="review" name="复核"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
  <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="count"/>
  <bpmn:sequenceFlow id="f2" sourceRef="count" targetRef="review"/>
  <bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="end"/>
</bpmn:process></bpmn:definitions>""").encode()


def test_a_script_calls_a_registered_handler_in_the_case_transaction(engine, admin):
    def count_cases(ctx, process_id):
        total = ctx.session.scalar(select(func.count()).select_from(Case)
                                   .where(Case.process_id == process_id))
        return {"total": total, "case_id": ctx.case.id, "at": ctx.now}

    engine.handlers.register("count_cases", count_cases)
    engine.deploy([("handled.bpmn", HANDLED)], admin)
    first = engine.start_case(admin, "handled", {})
    second = engine.start_case(admin, "handled", {})
    assert first.data["stats"]["total"] == 1  # its own row, flushed in the same transaction
    assert second.data["stats"] == {"total": 2, "case_id": second.id,
                                    "at": engine.clock.now().isoformat()}


def test_an_unknown_or_failing_handler_puts_the_case_in_error_with_the_reason(engine, admin):
    engine.deploy([("handled.bpmn", HANDLED)], admin)
    case = engine.start_case(admin, "handled", {})
    assert case.status == "error" and "count_cases" in case.error

    def refuse(ctx, process_id):
        raise ValueError("统计口径不明")

    engine.handlers.register("count_cases", refuse)
    case = engine.start_case(admin, "handled", {})
    assert case.status == "error" and "统计口径不明" in case.error


def engine_tasks(engine, case_id):
    with engine.db.unit_of_work(write=False) as session:
        return list(queries.case_tasks(session, case_id, ("ready",)))
