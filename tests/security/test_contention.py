"""Many clients racing on one task through the API: exactly one wins, every other gets 409, and
the case is left consistent (one completion, one claim, one escalation; the audit chain
intact), on SQLite and on PostgreSQL.

Protection removed to check these tests: without the case row lock that
`Engine._visible_task` takes on PostgreSQL before reading the task again, the claim race and
the escalation race fail there (two winners).
"""
import threading

from sqlalchemy import select

from engine import audit_chain
from engine.models import Case, Event, TaskRow
from tests.security.conftest import RACERS, Api, start, token_for


def race(app, tokens, method, path, body):
    """Fire one request per token at once; the statuses, in no particular order."""
    clients = [Api(app, token) for token in tokens]
    barrier = threading.Barrier(len(clients))
    statuses, errors = [], []

    def go(client):
        try:
            barrier.wait(30)
            statuses.append(client.call(method, path, body))
        except Exception as exc:  # noqa: BLE001 - reported below, never swallowed
            errors.append(exc)

    threads = [threading.Thread(target=go, args=(c,)) for c in clients]
    [t.start() for t in threads]
    [t.join(120) for t in threads]
    assert not errors, errors
    return statuses


def logins(app, names):
    eng = app.extensions["linkage"]
    return [token_for(eng, name) for name in names]


def events(eng, case_id, kind):
    with eng.db.unit_of_work(write=False) as session:
        return session.scalars(select(Event).where(Event.case_id == case_id, Event.kind == kind)).all()


def assert_one_winner(statuses):
    codes = sorted(s for s, _ in statuses)
    assert codes == [200] + [409] * (len(codes) - 1), statuses
    losers = [body for status, body in statuses if status == 409]
    assert all(b["error"]["code"] == "conflict" and b["error"]["message"] for b in losers)
    return next(body for status, body in statuses if status == 200)


def assert_chain_intact(eng, case_id):
    with eng.db.unit_of_work(write=False) as session:
        assert audit_chain.verify(session, case_id).ok


def test_racing_completions_one_wins(world_on):
    eng = world_on.extensions["linkage"]
    names = RACERS
    case_id, task_id = start(eng)
    statuses = race(world_on, logins(world_on, names), "POST", f"/tasks/{task_id}/complete",
                    {"data": {"opinion": "同意"}})
    winner = assert_one_winner(statuses)
    assert winner["status"] == "completed"
    assert len(events(eng, case_id, "task_completed")) == 1
    with eng.db.unit_of_work(write=False) as session:
        row = session.get(TaskRow, task_id)
        assert row.state == "completed" and row.completed_by in names
        assert session.get(Case, case_id).status == "completed"
    assert_chain_intact(eng, case_id)


def test_racing_claims_one_wins(world_on):
    eng = world_on.extensions["linkage"]
    names = RACERS
    case_id, task_id = start(eng)
    statuses = race(world_on, logins(world_on, names), "POST", f"/tasks/{task_id}/claim", None)
    winner = assert_one_winner(statuses)
    claimed = events(eng, case_id, "task_claimed")
    assert len(claimed) == 1 and winner["assignee"] == claimed[0].actor
    with eng.db.unit_of_work(write=False) as session:
        assert session.get(TaskRow, task_id).assignee == winner["assignee"]
    assert_chain_intact(eng, case_id)


def test_racing_escalations_one_wins(world_on):
    eng = world_on.extensions["linkage"]
    case_id, task_id = start(eng, "sec_escalate")
    supervisors = ["street", "bureau", "admin"] * 2
    statuses = race(world_on, logins(world_on, supervisors), "POST", f"/tasks/{task_id}/escalate",
                    {"reason": "逾期未办理，上报街道"})
    winner = assert_one_winner(statuses)
    assert [t["name"] for t in winner["tasks"]] == ["street_handle"]
    assert len(events(eng, case_id, "escalated")) == 1
    assert len(events(eng, case_id, "message_received")) == 1
    with eng.db.unit_of_work(write=False) as session:
        states = dict(session.execute(select(TaskRow.name, TaskRow.state)
                                      .where(TaskRow.case_id == case_id)).all())
    assert states == {"handle": "cancelled", "street_handle": "ready"}
    assert_chain_intact(eng, case_id)


def test_completion_racing_escalation_one_wins(world_on):
    eng = world_on.extensions["linkage"]
    names = RACERS[:3]
    case_id, task_id = start(eng, "sec_escalate")
    clerks = [Api(world_on, t) for t in logins(world_on, names)]
    bosses = [Api(world_on, t) for t in logins(world_on, ["street", "bureau", "admin"])]
    barrier = threading.Barrier(6)
    statuses = []

    def go(client, path, body):
        barrier.wait(30)
        statuses.append(client.call("POST", path, body))

    threads = [threading.Thread(target=go, args=(c, f"/tasks/{task_id}/complete", {"data": {}}))
               for c in clerks]
    threads += [threading.Thread(target=go, args=(b, f"/tasks/{task_id}/escalate", {"reason": "上报街道"}))
                for b in bosses]
    [t.start() for t in threads]
    [t.join(120) for t in threads]
    winner = assert_one_winner(statuses)
    completed = len(events(eng, case_id, "task_completed"))
    escalated = len(events(eng, case_id, "escalated"))
    assert completed + escalated == 1
    assert winner["status"] == ("completed" if completed else "running")
    assert_chain_intact(eng, case_id)
