"""Steps that fail or are undone: a case whose timer step fails is rolled back alone and marked
`error` while the other due cases fire; a savepoint rolled back after a case's rows were written
behind the ORM (`engine.case_store`) leaves the session with the case as stored."""
from datetime import timedelta

from sqlalchemy import select

from engine import audit_chain
from engine.models import Case, Event, TaskRow, TimerRow
from tests.conftest import START
from tests.engine.bpmn_snippets import doc

TIMED_CALC = doc("""
  <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
  <bpmn:intermediateCatchEvent id="wait" name="等一小时"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    <bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
  <bpmn:scriptTask id="calc" name="分摊" scriptFormat="python"><bpmn:incoming>f2</bpmn:incoming>
    <bpmn:outgoing>f3</bpmn:outgoing><bpmn:script>share = 100 / parts</bpmn:script></bpmn:scriptTask>
  <bpmn:userTask id="review" name="复核"><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing></bpmn:userTask>
  <bpmn:endEvent id="end"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait"/>
  <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="calc"/>
  <bpmn:sequenceFlow id="f3" sourceRef="calc" targetRef="review"/>
  <bpmn:sequenceFlow id="f4" sourceRef="review" targetRef="end"/>""", "timed_calc")


def test_a_case_whose_timer_step_fails_is_marked_alone_and_the_others_fire(engine, admin):
    engine.deploy([("timed_calc.bpmn", TIMED_CALC)], admin)
    good_before = engine.start_case(admin, "timed_calc", {"parts": 2})
    bad = engine.start_case(admin, "timed_calc", {"parts": 0})
    good_after = engine.start_case(admin, "timed_calc", {"parts": 4})

    _, fired = engine.tick(START + timedelta(hours=2))

    assert sorted(f["case_id"] for f in fired) == sorted([good_before.id, good_after.id])
    with engine.db.unit_of_work(write=False) as session:
        cases = {c.id: c for c in session.scalars(select(Case))}
        ready = {t.case_id: t.name for t in session.scalars(select(TaskRow).where(TaskRow.state == "ready"))}
        waiting = {t.case_id for t in session.scalars(select(TimerRow))}
        kinds = [e.kind for e in session.scalars(select(Event).where(Event.case_id == bad.id)
                                                 .order_by(Event.id))]
        assert audit_chain.verify(session).ok
    assert cases[good_before.id].data["share"] == 50 and cases[good_after.id].data["share"] == 25
    assert ready == {good_before.id: "review", good_after.id: "review"}
    assert cases[bad.id].status == "error" and "ZeroDivisionError" in cases[bad.id].error
    assert waiting == {bad.id}  # its step was undone: the timer it had is still there
    assert kinds == ["case_started", "case_error"]

    _, again = engine.tick(START + timedelta(hours=3))
    assert again == []  # a case in error is passed over


def test_a_rolled_back_savepoint_leaves_the_session_with_the_case_as_stored(engine, admin):
    engine.deploy([("timed_calc.bpmn", TIMED_CALC)], admin)
    case = engine.start_case(admin, "timed_calc", {"parts": 2})
    with engine.db.unit_of_work() as session:
        stored = session.get(Case, case.id)
        version, head = stored.version, stored.audit_head
        savepoint = session.begin_nested()
        run = engine.runtime.open(session, case.id, "admin")
        run.event("note", None, {"text": "稍后撤销"})
        run.save()
        assert stored.version == version + 1
        savepoint.rollback()
        assert (stored.version, stored.audit_head) == (version, head)
        stored.title = "改个标题"  # the ORM writes it against the version really stored
    with engine.db.unit_of_work(write=False) as session:
        assert session.get(Case, case.id).title == "改个标题"
        assert audit_chain.verify(session, case.id).ok
