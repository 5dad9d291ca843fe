"""Acceptance on PostgreSQL: several worker processes share the due work, each item once.

The cases are of `fixtures/sweep_load.bpmn`: a task due in two days beside a one-hour follow-up
timer. One case is started through the service layer at 09:00 on Monday 2 March 2026; the rest
are copies of it made with bulk inserts (every UUID replaced by a fresh one, so each copy is a
case the engine loads and runs like any other), because starting thousands of cases one by one
would measure starts, not sweeps. At 09:01 on Tuesday every case has two due items: its timer
(due Monday 10:00) and its task's "1 day before" reminder, sent in-app and to a webhook.

Workers are real OS processes (forked), each running `Engine.tick` against the same database.
"""
import multiprocessing
import os
import queue
import re
import signal
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, text

from engine.access import SYSTEM, Principal
from engine.calendar import CHINA_TZ
from engine.clock import ManualClock
from engine.db import Database
from engine.models import Base, Case, Event, TaskRow, TimerRow
from engine.scheduler_models import DeadlineJob, Delivery, Notification
from engine.service import Engine
from tests.scheduler.conftest import START, prepare

pytestmark = pytest.mark.postgres

FIXTURE = Path(__file__).parent / "fixtures" / "sweep_load.bpmn"
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SWEEP_AT = datetime(2026, 3, 3, 9, 1, tzinfo=CHINA_TZ)  # Tuesday 09:01
CLERK = Principal("clerk", "clerk", "140502001001", "14/1405/140502/140502001/140502001001/")
FORK = multiprocessing.get_context("fork")


@pytest.fixture
def pg_url(pg_base_url):
    database = Database(pg_base_url)
    with database.engine.begin() as conn:
        names = ", ".join(f'"{t.name}"' for t in reversed(Base.metadata.sorted_tables))
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    database.dispose()
    return pg_base_url


def populate(url, cases):
    """`cases` open cases of sweep_load, each with one due timer and one due reminder."""
    engine = prepare(Engine(Database(url), ManualClock(START)), files=())
    try:
        engine.deploy([("sweep_load.bpmn", FIXTURE.read_bytes())], SYSTEM)
        template = engine.start_case(CLERK, "sweep_load", {}, "C0001")
        clone(engine.db, template.id, cases - 1)
    finally:
        engine.db.dispose()


def clone(database, case_id, count):
    tables = {"cases": Case.__table__, "tasks": TaskRow.__table__, "timers": TimerRow.__table__,
              "deadline_jobs": DeadlineJob.__table__}
    with database.engine.begin() as conn:
        rows = {name: [dict(r) for r in conn.execute(select(table).where(
            (table.c.id if name == "cases" else table.c.case_id) == case_id)).mappings()]
            for name, table in tables.items()}
        copies = {name: [] for name in tables}
        for _ in range(count):
            fresh = {}

            def renew(value):
                if isinstance(value, str):
                    return UUID_RE.sub(lambda m: fresh.setdefault(m.group(0), str(uuid.uuid4())), value)
                return value
            for name, template_rows in rows.items():
                for row in template_rows:
                    copy = {k: renew(v) for k, v in row.items()
                            if not (k == "id" and name in ("timers", "deadline_jobs"))}
                    if name == "cases":
                        copy["audit_head"] = None  # the copy's audit trail starts empty
                    copies[name].append(copy)
        for name, table in tables.items():
            if copies[name]:
                conn.execute(insert(table), copies[name])


def work(url, now, webhook_url, results):
    """One worker process: a whole sweep, then its fired items back to the parent."""
    engine = Engine(Database(url), ManualClock(now))
    prepare_channels(engine, webhook_url)
    try:
        _, fired = engine.tick(now, strict=False)
        results.put([(f["kind"], f.get("task_id") or f["case_id"], f["due_at"]) for f in fired])
    finally:
        engine.db.dispose()


def prepare_channels(engine, webhook_url):
    from workflows import register
    register(engine)
    engine.scheduler.configure({"WEBHOOK_URL": webhook_url, "BASE_URL": "https://linkage.example.cn"},
                               environ={})


def run_workers(url, now, webhook_url, count):
    results = FORK.Queue()
    workers = [FORK.Process(target=work, args=(url, now, webhook_url, results)) for _ in range(count)]
    for worker in workers:
        worker.start()
    fired, deadline = [], time.monotonic() + 300
    while len(fired) < count:
        try:
            fired.append(results.get(timeout=0.5))
        except queue.Empty:
            failed = [w.exitcode for w in workers if w.exitcode not in (None, 0)]
            assert not failed, f"a worker failed: exit codes {failed}"
            assert time.monotonic() < deadline, "the workers did not finish"
    for worker in workers:
        worker.join(30)
        assert worker.exitcode == 0
    return fired


def counts(url, database=None):
    """Audit events, notifications and sent deliveries; and any (case, kind, channel) seen twice."""
    own = database is None
    database = database or Database(url)
    try:
        with database.unit_of_work(write=False) as session:
            rows = session.execute(select(Event.case_id, Event.kind, Event.detail).where(
                Event.kind.in_(("timer_fired", "reminder_sent")))).all()
            per_kind = Counter()
            seen = Counter((case_id, kind, (detail or {}).get("channel")) for case_id, kind, detail in rows)
            for (_, kind, channel), number in seen.items():
                per_kind[f"{kind}:{channel}" if channel else kind] += number
            per_kind["notifications"] = session.scalar(select(func.count()).select_from(Notification))
            per_kind["sent"] = session.scalar(select(func.count()).select_from(Delivery)
                                              .where(Delivery.status == "sent"))
            return per_kind, [key for key, number in seen.items() if number > 1]
    finally:
        if own:
            database.dispose()


def expected(cases):
    return {"timer_fired": cases, "reminder_sent:inapp": cases, "reminder_sent:webhook": cases,
            "notifications": cases, "sent": cases}


def follow_up_sweep(url, now, webhook_url):
    """The next sweep of any worker: picks up what a busy case made the others pass over."""
    engine = Engine(Database(url), ManualClock(now))
    prepare_channels(engine, webhook_url)
    try:
        return engine.tick(now, strict=False)[1]
    finally:
        engine.db.dispose()


def test_three_workers_fire_two_thousand_due_items_exactly_once(pg_url, webhook):
    populate(pg_url, 1000)
    fired = run_workers(pg_url, SWEEP_AT, webhook.url, 3)
    fired.append([(f["kind"], f.get("task_id") or f["case_id"], f["due_at"])
                  for f in follow_up_sweep(pg_url, SWEEP_AT, webhook.url)])
    items = [item for worker in fired for item in worker]
    assert len(items) == 2000 and len(set(items)) == 2000  # every item fired, none twice
    assert Counter(kind for kind, _, _ in items) == {"timer": 1000, "reminder": 1000}
    assert sum(1 for worker in fired[:3] if worker) >= 2  # the work was shared
    per_kind, twice = counts(pg_url)
    assert twice == [] and {k: per_kind[k] for k in expected(1000)} == expected(1000)
    links = Counter(re.search(r"/tasks/([0-9a-f-]{36})", b["text"]["content"]).group(1)
                    for b in webhook.bodies)
    assert len(links) == 1000 and set(links.values()) == {1}
    assert follow_up_sweep(pg_url, SWEEP_AT + timedelta(minutes=1), webhook.url) == []


@pytest.mark.parametrize("kill_when", ["timer_fired", "reminder_sent:inapp", "sent"])
def test_a_worker_killed_mid_sweep_loses_nothing_and_repeats_nothing(pg_url, webhook, kill_when):
    """Killed while firing timers, while writing reminder batches, or while sending the
    outbox (holding leases): the restarted worker finishes the sweep, nothing twice."""
    cases = 150
    populate(pg_url, cases)
    results = FORK.Queue()
    victim = FORK.Process(target=work, args=(pg_url, SWEEP_AT, webhook.url, results))
    victim.start()
    watcher, deadline = Database(pg_url), time.monotonic() + 120
    try:
        while counts(pg_url, watcher)[0][kill_when] < cases // 4:
            assert time.monotonic() < deadline and victim.exitcode is None
            time.sleep(0.01)
        os.kill(victim.pid, signal.SIGKILL)
        victim.join(10)
        before, twice = counts(pg_url, watcher)
    finally:
        watcher.dispose()
    assert victim.exitcode == -signal.SIGKILL
    assert before["sent"] < cases, "the worker must die in the middle of its sweep"
    assert twice == []

    # Restarted after the dead worker's leases ran out (5 minutes): the rest fires, and
    # nothing a second time.
    restart = SWEEP_AT + timedelta(minutes=6)
    run_workers(pg_url, restart, webhook.url, 1)
    follow_up_sweep(pg_url, restart, webhook.url)
    after, twice = counts(pg_url)
    assert twice == [] and {k: after[k] for k in expected(cases)} == expected(cases)
    # The webhook saw every reminder; the one in flight at the kill may have gone out twice.
    links = Counter(re.search(r"/tasks/([0-9a-f-]{36})", b["text"]["content"]).group(1)
                    for b in webhook.bodies)
    assert len(links) == cases and sum(links.values()) <= cases + 1
