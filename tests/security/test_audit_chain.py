"""The audit trail is tamper-evident: every event is chained to its case's previous one, and
`linkage audit verify` names the first event that was altered, removed or forged.

Protection removed to check these tests: with the `before_flush` listener of
`engine.audit_chain` unregistered, events carry no hash and every chain test here fails.
"""
import hashlib

import pytest
from sqlalchemy import func, select, text

from engine import audit_chain
from engine.models import Case, Event
from tests.security.conftest import principal, start


def run_cases(eng, clock):
    """Cases with every kind of event: started, claimed, completed (with awkward data: floats,
    Chinese, nesting), timer fired, escalated through a message, cancelled."""
    clerk, street = principal(eng, "clerk"), principal(eng, "street")
    done, task = start(eng)
    eng.claim_task(clerk, task)
    eng.complete_task(clerk, task, {"意见": "同意，材料齐全", "score": 1.0, "big": 1e20,
                                    "ratio": 0.1, "nested": {"b": [1, 2, {"c": None}], "a": True}})
    reminded, _ = start(eng)
    clock.advance(days=2)
    eng.tick()
    escalated, task = start(eng, "sec_escalate")
    eng.escalate_task(street, task, "逾期未办理")
    cancelled, _ = start(eng)
    eng.cancel_case(street, cancelled, "重复立案")
    return [done, reminded, escalated, cancelled]


def verify(eng, case_id=None):
    with eng.db.unit_of_work(write=False) as session:
        return audit_chain.verify(session, case_id)


def events_of(eng, case_id):
    with eng.db.unit_of_work(write=False) as session:
        return session.scalars(select(Event).where(Event.case_id == case_id).order_by(Event.id)).all()


def execute(eng, sql, **params):
    with eng.db.engine.begin() as conn:
        conn.execute(text(sql), params)


def cli(app, *args):
    return app.test_cli_runner().invoke(args=["audit", "verify", *args])


def test_every_event_is_chained_and_the_chain_verifies(world_on, clock):
    eng = world_on.extensions["linkage"]
    cases = run_cases(eng, clock)
    report = verify(eng)
    assert report.ok, report.first_break
    with eng.db.unit_of_work(write=False) as session:
        assert report.events == session.scalar(select(func.count()).select_from(Event)) >= 10
        for case_id in cases:
            rows = session.scalars(select(Event).where(Event.case_id == case_id).order_by(Event.id)).all()
            assert rows[0].prev_hash == "" and all(len(r.hash) == 64 for r in rows)
            assert [r.prev_hash for r in rows[1:]] == [r.hash for r in rows[:-1]]
            assert session.get(Case, case_id).audit_head == rows[-1].hash
        assert {"case_started", "task_claimed", "task_completed", "timer_fired", "escalated",
                "message_received", "case_cancelled"} <= {
            k for (k,) in session.execute(select(Event.kind).distinct())}
    result = cli(world_on)
    assert result.exit_code == 0, result.output
    assert f"{len(cases)} 个案件" in result.output and f"{report.events} 条记录" in result.output


def test_an_altered_event_is_reported_with_its_id(world_on, clock):
    eng = world_on.extensions["linkage"]
    cases = run_cases(eng, clock)
    victim = events_of(eng, cases[0])[2]
    execute(eng, "UPDATE events SET actor = 'mallory' WHERE id = :id", id=victim.id)
    report = verify(eng)
    assert not report.ok
    assert (report.first_break.case_id, report.first_break.event_id) == (cases[0], victim.id)
    assert "改动" in report.first_break.problem
    result = cli(world_on)
    assert result.exit_code == 1
    assert f"第 {victim.id} 号记录" in result.output and cases[0] in result.output


def test_an_altered_detail_is_caught_even_when_its_hash_is_recomputed(world_on, clock):
    eng = world_on.extensions["linkage"]
    cases = run_cases(eng, clock)
    rows = events_of(eng, cases[0])
    victim, following = rows[1], rows[2]
    forged = Event(case_id=victim.case_id, at=victim.at, actor=victim.actor, kind=victim.kind,
                   element=victim.element, detail={**victim.detail, "forged": True})
    new_hash = audit_chain.event_hash(forged, victim.prev_hash)
    dialect = eng.db.engine.dialect.name
    detail_sql = "CAST(:detail AS JSONB)" if dialect == "postgresql" else ":detail"
    import json
    execute(eng, f"UPDATE events SET detail = {detail_sql}, hash = :hash WHERE id = :id",
            detail=json.dumps(forged.detail), hash=new_hash, id=victim.id)
    report = verify(eng)
    assert report.first_break.event_id == following.id
    assert "链接断开" in report.first_break.problem


def test_a_deleted_event_is_reported(world_on, clock):
    eng = world_on.extensions["linkage"]
    cases = run_cases(eng, clock)
    rows = events_of(eng, cases[0])
    execute(eng, "DELETE FROM events WHERE id = :id", id=rows[1].id)
    report = verify(eng)
    assert (report.first_break.case_id, report.first_break.event_id) == (cases[0], rows[2].id)
    result = cli(world_on, "--json")
    assert result.exit_code == 1 and f'"event_id": {rows[2].id}' in result.output


def test_deleting_the_last_events_of_a_case_is_reported(world_on, clock):
    eng = world_on.extensions["linkage"]
    cases = run_cases(eng, clock)
    last = events_of(eng, cases[3])[-1]
    execute(eng, "DELETE FROM events WHERE id = :id", id=last.id)
    report = verify(eng, cases[3])
    assert report.first_break.case_id == cases[3] and report.first_break.event_id is None
    assert "末尾" in report.first_break.problem
    assert cli(world_on, "--case", cases[3]).exit_code == 1
    assert cli(world_on, "--case", cases[0]).exit_code == 0


def test_an_event_inserted_behind_the_engine_is_reported(world, clock):
    eng = world.extensions["linkage"]
    cases = run_cases(eng, clock)
    execute(eng, "INSERT INTO events (case_id, at, actor, kind, element, detail) "
                 "VALUES (:case, '2026-03-01 00:00:00.000000', 'mallory', 'task_completed', "
                 "'review', '{}')", case=cases[0])
    report = verify(eng)
    assert report.first_break.case_id == cases[0] and "没有哈希" in report.first_break.problem


def test_the_hash_is_sha256_of_a_canonical_json():
    """Documented so an outside auditor can recompute it: sorted keys, no spaces, UTF-8."""
    from datetime import datetime, timezone
    row = Event(case_id="c1", at=datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc), actor="clerk",
                kind="task_completed", element="review", detail={"b": 1.0, "a": "凤台"})
    body = ('{"actor":"clerk","at":"2026-03-02T01:00:00.000000Z","case_id":"c1",'
            '"detail":{"a":"凤台","b":1},"element":"review","format":"linkage-audit-v1",'
            '"kind":"task_completed","prev_hash":"abc"}')
    assert audit_chain.event_hash(row, "abc") == hashlib.sha256(body.encode("utf-8")).hexdigest()


def test_the_migration_chains_events_written_before_it(world, clock):
    """Events of an existing database (before this feature) are chained by the upgrade."""
    from alembic import command
    from engine.schema import alembic_config
    from workflows import MIGRATIONS, upgrade_schema

    eng = world.extensions["linkage"]
    cases = run_cases(eng, clock)
    with eng.db.engine.begin() as conn:
        command.downgrade(alembic_config(conn, [MIGRATIONS]), "0002_audit_chain-1")
    with eng.db.engine.connect() as conn:
        columns = {c[1] for c in conn.execute(text("PRAGMA table_info(events)"))}
    assert "hash" not in columns
    eng.db.dispose()
    upgrade_schema(eng.db)
    report = verify(eng)
    assert report.ok and report.cases == len(cases)
    # and chaining goes on from the migrated head
    done, task = start(eng)
    eng.complete_task(principal(eng, "clerk"), task, {})
    assert verify(eng).ok


@pytest.mark.parametrize("racers", [4])
def test_concurrent_appends_to_one_case_never_fork_the_chain(world_on, racers):
    """Claims racing on one case: the losers' events are rolled back with them."""
    import threading

    from engine.errors import Conflict
    from tests.security.conftest import RACERS

    eng = world_on.extensions["linkage"]
    names = RACERS[:racers]
    case_id, task = start(eng)
    barrier = threading.Barrier(racers)

    def claim(name):
        barrier.wait()
        try:
            eng.claim_task(principal(eng, name), task)
        except Conflict:
            pass

    threads = [threading.Thread(target=claim, args=(n,)) for n in names]
    [t.start() for t in threads]
    [t.join(60) for t in threads]
    assert verify(eng, case_id).ok
    assert [e.kind for e in events_of(eng, case_id)].count("task_claimed") == 1


@pytest.mark.postgres
def test_a_head_moved_before_the_lock_is_read_again_under_it(pg_base_url, sqlite_template,
                                                             tmp_path, clock):
    """A case read early in a transaction, then chained onto by another one (a reminder's
    event moves the head without touching the version), then locked and written: the head
    that rides on the case's UPDATE must be the one read under the lock, or the chain forks.
    (On SQLite the write transaction excludes the other writer altogether.)"""
    from tests.security.conftest import fresh_postgres, make_app
    app = make_app(fresh_postgres(pg_base_url, clock, tmp_path), clock, tmp_path)
    eng = app.extensions["linkage"]
    try:
        case_id, _task = start(eng)
        with eng.db.unit_of_work() as session:
            early = session.get(Case, case_id)  # read before any lock
            with eng.db.unit_of_work() as other:
                other.add(Event(case_id=case_id, at=clock.now(), actor="scheduler",
                                kind="reminder_sent", element=None, detail={"channel": "app"}))
            run = eng.runtime.open(session, case_id, "clerk", lock=True)
            assert run.case is early
            run.event("case_updated", None, {"why": "写入时持有行锁"})
            early.title = early.title + "（已更新）"  # the case row is written anyway
            run.save()
        assert verify(eng, case_id).ok, verify(eng, case_id).first_break
    finally:
        eng.db.dispose()
