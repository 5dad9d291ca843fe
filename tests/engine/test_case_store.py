"""A case's rows written with prepared statements beside the ORM (engine.case_store,
engine.prepared): same values as SQLAlchemy would send and read, same errors, nothing left for
the ORM to write again, and every statement visible to whoever listens."""
import json

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError

from engine import audit_chain, case_store
from engine.models import Case, Event, TaskRow
from engine.prepared import Prepared
from tests.engine.bpmn_snippets import LOOP
from tests.engine.test_cases import case_row, ready_tasks


@pytest.fixture
def loop_case(engine, admin):
    engine.deploy([("loop.bpmn", LOOP)], admin)
    return engine.start_case(admin, "loop", {"title": "电梯整改"})


class Statements:
    """Records the statements an engine sends while it is in use."""

    def __init__(self, engine):
        self.engine, self.sent = engine, []

    def _record(self, _conn, _cursor, statement, *_args):
        self.sent.append(" ".join(statement.split()))

    def __enter__(self):
        event.listen(self.engine.db.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *_exc):
        event.remove(self.engine.db.engine, "before_cursor_execute", self._record)


def test_a_prepared_read_gives_what_sqlalchemy_gives(engine, loop_case):
    task = ready_tasks(engine, loop_case.id)[0]
    query = select(TaskRow.__table__).where(TaskRow.id == task.id)
    with engine.db.unit_of_work(write=False) as session:
        connection = session.connection()
        expected = dict(connection.execute(query).first()._mapping)
        read = Prepared(query).first(connection, {})
        assert dict(read._mapping) == expected
        assert read.due_at == expected["due_at"] and read.candidate_groups == expected["candidate_groups"]
        assert read.created_at.tzinfo is not None  # the column type's own result processing
        with pytest.raises(AttributeError):
            read.no_such_column  # noqa: B018


def test_a_driver_error_surfaces_as_sqlalchemys_and_the_transaction_rolls_back(engine, loop_case):
    task = ready_tasks(engine, loop_case.id)[0]
    with engine.db.unit_of_work(write=False) as session:
        row = dict(session.connection().execute(
            select(TaskRow.__table__).where(TaskRow.id == task.id)).first()._mapping)
    with pytest.raises(IntegrityError):
        with engine.db.unit_of_work() as session:
            case_store.insert_tasks(session, [{**row, "due_at": None}])  # the same id again
    assert len(ready_tasks(engine, loop_case.id)) == 1


def test_a_completion_writes_each_row_once_and_leaves_the_orm_nothing_to_flush(engine, admin, loop_case):
    task = ready_tasks(engine, loop_case.id)[0]
    with Statements(engine) as statements:
        engine.complete_task(admin, task.id, {"note": "好"})
    updates = [s for s in statements.sent if s.startswith("UPDATE cases")]
    assert len(updates) == 1, statements.sent
    assert sum(s.startswith("INSERT INTO events") for s in statements.sent) == 1
    assert case_row(engine, loop_case.id).version == loop_case.version + 1


def test_the_case_update_writes_only_what_changed(engine, admin, loop_case, clock):
    """A step that leaves the status as it was does not write it (SQLite would rewrite its
    index entry); one that finishes the case writes it and its completion time."""
    clock.advance(minutes=5)
    with Statements(engine) as statements:
        engine.complete_task(admin, ready_tasks(engine, loop_case.id)[0].id, {"note": "好"})
    update = next(s for s in statements.sent if s.startswith("UPDATE cases"))
    written = update.split(" SET ")[1].split(" WHERE ")[0]
    assert "state=" in written and "updated_at=" in written and "version=" in written
    assert "status=" not in written and "completed_at=" not in written and "error=" not in written
    with Statements(engine) as statements:
        engine.complete_task(admin, ready_tasks(engine, loop_case.id)[0].id, {"accepted": True})
    update = next(s for s in statements.sent if s.startswith("UPDATE cases"))
    assert "status=" in update and "completed_at=" in update
    row = case_row(engine, loop_case.id)
    assert row.status == "completed" and row.completed_at is not None


def test_a_column_set_through_the_orm_before_the_step_is_written_with_it(engine, admin, loop_case):
    task = ready_tasks(engine, loop_case.id)[0]
    with Statements(engine) as statements, engine.db.unit_of_work() as session:
        run = engine.runtime.open(session, loop_case.id, "admin")
        run.case.error = "前一次失败的说明"  # a column the step itself does not change
        from engine.runtime import find_task
        find_task(run.workflow, task.id).run()
        run.completed_by[task.id] = "admin"
        run.run_engine()
        run.save()
    updates = [s for s in statements.sent if s.startswith("UPDATE cases")]
    assert len(updates) == 1 and "error=" in updates[0], statements.sent
    row = case_row(engine, loop_case.id)
    assert row.error == "前一次失败的说明" and row.version == loop_case.version + 1


def test_statements_are_visible_to_a_listener_and_prepared_when_nobody_listens(engine, admin,
                                                                                loop_case, monkeypatch):
    prepared = []
    original = Prepared._compiled
    monkeypatch.setattr(Prepared, "_compiled", lambda self, dialect: prepared.append(1) or original(self, dialect))
    with Statements(engine) as statements:
        engine.complete_task(admin, ready_tasks(engine, loop_case.id)[0].id, {})
    assert prepared == [] and any(s.startswith("UPDATE cases") for s in statements.sent)
    engine.complete_task(admin, ready_tasks(engine, loop_case.id)[0].id, {"accepted": False})
    assert len(prepared) >= 5  # read task, read case, update case, events, tasks


def test_the_session_sees_what_the_step_wrote(engine, admin, loop_case):
    """An ORM object of a row the step wrote shows the written values in the same transaction."""
    task = ready_tasks(engine, loop_case.id)[0]
    with engine.db.unit_of_work() as session:
        held_task = session.get(TaskRow, task.id)
        run = engine.runtime.open(session, loop_case.id, "admin")
        held_case = session.get(Case, loop_case.id)
        assert held_case is run.case  # one object per row in a session
        from engine.runtime import find_task
        find_task(run.workflow, task.id).run()
        run.completed_by[task.id] = "admin"
        run.run_engine()
        run.save()
        assert held_task.state == "completed" and held_task.completed_by == "admin"
        assert held_case.version == loop_case.version + 1
        assert not session.dirty
        stored = session.connection().execute(select(Case.version, Case.audit_head)
                                              .where(Case.id == loop_case.id)).one()
        assert tuple(stored) == (held_case.version, held_case.audit_head)


def test_events_written_beside_the_orm_keep_one_unbroken_chain(engine, admin, loop_case):
    for approved in (False, False, True):
        engine.complete_task(admin, ready_tasks(engine, loop_case.id)[0].id, {})
        engine.complete_task(admin, ready_tasks(engine, loop_case.id)[0].id, {"accepted": approved})
    with engine.db.unit_of_work(write=False) as session:
        report = audit_chain.verify(session, loop_case.id)
        kinds = [e.kind for e in session.scalars(select(Event).where(Event.case_id == loop_case.id)
                                                 .order_by(Event.id))]
    assert report.ok and report.events == len(kinds)
    assert kinds[0] == "case_started" and kinds[-1] == "case_completed"


def test_an_orm_event_added_before_the_step_stays_before_it_in_the_chain(engine, admin, loop_case):
    task = ready_tasks(engine, loop_case.id)[0]
    with engine.db.unit_of_work() as session:
        session.add(Event(case_id=loop_case.id, at=engine.clock.now(), actor="admin", kind="note",
                          element=None, detail={"text": "先记一笔"}))
        run = engine.runtime.open(session, loop_case.id, "admin")
        from engine.runtime import find_task
        find_task(run.workflow, task.id).run()
        run.completed_by[task.id] = "admin"
        run.run_engine()
        run.save()
    with engine.db.unit_of_work(write=False) as session:
        kinds = [e.kind for e in session.scalars(select(Event).where(Event.case_id == loop_case.id)
                                                 .order_by(Event.id))]
        assert audit_chain.verify(session, loop_case.id).ok
    assert kinds.index("note") < kinds.index("task_completed")


def test_a_state_loads_exactly_as_spiffworkflows_own_converter_loads_it(engine, admin, loop_case):
    """`spiff.CaseTaskConverter` parses each task id once; what it builds must not differ."""
    from SpiffWorkflow.bpmn.serializer.default.workflow import TaskConverter
    from engine import spiff
    engine.complete_task(admin, ready_tasks(engine, loop_case.id)[0].id, {"note": "第一次"})
    with engine.db.unit_of_work(write=False) as session:
        case = session.get(Case, loop_case.id)
        definition = engine.runtime.definition(session, case.definition_id)
        spec, subs = engine.specs.get(session, definition)
        state = case.state
    ours = spiff.load_state(state, spec, subs, engine.runtime.script_engine())
    theirs = spiff.make_serializer(task_converter=TaskConverter).from_dict(
        json.loads(state), spec=spec, subprocess_specs=subs)

    def shape(workflow):
        return {str(t.id): (str(t._parent), [str(c) for c in t._children], t.state,
                            t.task_spec.name, t.data, t.internal_data)
                for t in workflow.tasks.values()}
    assert shape(ours) == shape(theirs)
    assert spiff.dump_state(ours) == state  # and it writes back what it read
