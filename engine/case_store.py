"""A case's own rows, read and written with statements built once, inside the caller's
transaction and beside the ORM's unit of work.

Why not the ORM for these: every step of every case reads its task and case rows and writes the
same handful of rows back (the case's state, its new audit events, the task it finished, the
task it created). Through the unit of work each of those cost a flush pass with attribute
history and flush hooks, which together cost more than SpiffWorkflow's own step (bench/RESULTS.md,
P1). Here they are plain statements on the session's connection. The ORM objects the session
holds for these rows are kept in line with `set_committed_value`, so the session neither writes
them again nor shows stale values, and the rest of the code keeps using `Case` objects.
"""
from functools import lru_cache

from sqlalchemy import bindparam, select
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import instance_dict, instance_state, set_committed_value
from sqlalchemy.orm.instrumentation import manager_of_class
from sqlalchemy.orm.exc import StaleDataError

from engine.audit_chain import chain_rows
from engine.db import remember_locked, remember_written
from engine.models import Case, Event, MessageWait, TaskRow, TimerRow
from engine.prepared import Prepared, Record
from engine.reminders import job_rows
from engine.scheduler_models import DeadlineJob

_CASES, _TASKS, _EVENTS = Case.__table__, TaskRow.__table__, Event.__table__
_JOBS, _TIMERS, _WAITS = DeadlineJob.__table__, TimerRow.__table__, MessageWait.__table__

_CASE_CLASS = manager_of_class(Case)

# The columns a step may change; `version` and `audit_head` are written with them.
CHANGING = ("status", "error", "completed_at", "data", "state", "updated_at")

_READ_TASK = Prepared(select(_TASKS).where(_TASKS.c.id == bindparam("w_id")))
_READ_CASE = select(_CASES).where(_CASES.c.id == bindparam("w_id"))
_GET_CASE, _LOCK_CASE = Prepared(_READ_CASE), Prepared(_READ_CASE.with_for_update())
_TAKE_CASE = Prepared(_READ_CASE.with_for_update(skip_locked=True))
# A task and its case in one statement, for a transaction that already holds the database
# (SQLite's BEGIN IMMEDIATE): nobody can change either between the two reads.
_TASK_WITH_CASE = Prepared(
    select(*_TASKS.c, *[column.label(f"case__{column.name}") for column in _CASES.c])
    .join_from(_TASKS, _CASES, _TASKS.c.case_id == _CASES.c.id)
    .where(_TASKS.c.id == bindparam("w_id")))
_TASK_KEYS = [column.name for column in _TASKS.c]
_CASE_KEYS = [column.name for column in _CASES.c]


@lru_cache(maxsize=None)
def _update_case(names):
    """The UPDATE of a case writing the columns `names` (a tuple in `CHANGING` order), its
    version and its audit head. Only what changed is written: a column set to its old value
    still rewrites the entries of the indexes it is in (SQLite dirties their pages), and a JSON
    column is serialized again for nothing."""
    return Prepared(
        _CASES.update()
        .where(_CASES.c.id == bindparam("w_id"), _CASES.c.version == bindparam("w_version"),
               _CASES.c.audit_head.is_not_distinct_from(
                   bindparam("w_head", type_=_CASES.c.audit_head.type)))
        .values(version=bindparam("w_next"), audit_head=bindparam("w_new_head"),
                **{name: bindparam(f"v_{name}", type_=_CASES.c[name].type) for name in names}))


_FINISH_TASK = Prepared(
    _TASKS.update()
    .where(_TASKS.c.id == bindparam("w_id"), _TASKS.c.state == "ready")
    .values(state=bindparam("w_state"),
            completed_at=bindparam("w_at", type_=_TASKS.c.completed_at.type),
            completed_by=bindparam("w_by")))


def _inserting(table, columns):
    return Prepared(table.insert(), keys=columns)


_INSERT_EVENT = _inserting(_EVENTS, ["case_id", "at", "actor", "kind", "element", "detail",
                                     "prev_hash", "hash"])
_INSERT_TASK = _inserting(_TASKS, _TASK_KEYS)
_INSERT_JOB = _inserting(_JOBS, ["task_id", "case_id", "kind", "status", "next_due", "fired",
                                 "attempts"])
_INSERT_TIMER = _inserting(_TIMERS, ["case_id", "task_id", "element", "name", "due_at"])
_INSERT_WAIT = _inserting(_WAITS, ["case_id", "task_id", "element", "message"])
_DROP_TIMER = Prepared(_TIMERS.delete().where(_TIMERS.c.case_id == bindparam("w_case"),
                                              _TIMERS.c.task_id == bindparam("w_task")))
_MOVE_TIMER = Prepared(_TIMERS.update().where(_TIMERS.c.case_id == bindparam("w_case"),
                                              _TIMERS.c.task_id == bindparam("w_task"))
                       .values(due_at=bindparam("w_due", type_=_TIMERS.c.due_at.type)))
_DROP_WAIT = Prepared(_WAITS.delete().where(_WAITS.c.case_id == bindparam("w_case"),
                                            _WAITS.c.task_id == bindparam("w_task"),
                                            _WAITS.c.message == bindparam("w_message")))


def read_task(session, task_id):
    """The task's row (a read-only record), or None."""
    return _READ_TASK.first(session.connection(), {"w_id": str(task_id)})


def task_for_change(session, task_id):
    """The task's row (a read-only record) about to be changed with its case, which this
    transaction then holds: on PostgreSQL the case's row is locked first and the task read
    again under the lock, or two racing commands could both read it unchanged and both act."""
    if session.bind.dialect.name == "postgresql":
        task = read_task(session, task_id)
        if task is not None:
            lock_case(session, task.case_id)
            task = read_task(session, task_id)
        return task
    row = _TASK_WITH_CASE.first(session.connection(), {"w_id": str(task_id)})
    if row is None:
        return None
    values = row._mapping
    case = _attach(session, Record(_CASE_KEYS, [values[f"case__{key}"] for key in _CASE_KEYS]))
    # Held for the transaction (its BEGIN IMMEDIATE holds the database): kept beyond the
    # session's weak identity map, so `Runtime.open` takes it from here without a query.
    remember_locked(session, case)
    return Record(_TASK_KEYS, [values[key] for key in _TASK_KEYS])


def get_case(session, case_id):
    """The session's `Case` for this id, read only when the session does not hold it yet."""
    found = session.identity_map.get(_key(case_id))
    if found is not None:
        return found
    row = _GET_CASE.first(session.connection(), {"w_id": str(case_id)})
    return None if row is None else _attach(session, row)


def lock_case(session, case_id):
    """Lock a case's row for the rest of the transaction (PostgreSQL; SQLite's BEGIN
    IMMEDIATE holds the database already) and read it afresh: concurrent commands on one case
    queue here, and the one that waited sees what the first wrote."""
    return _locked(session, _LOCK_CASE, case_id)


def take_case(session, case_id):
    """The case, locked for this transaction, unless another transaction holds it right now
    (then None: on PostgreSQL, `SKIP LOCKED`, so workers sweeping together never wait for
    each other or fire one timer twice; SQLite's BEGIN IMMEDIATE holds the database already)."""
    if session.bind.dialect.name != "postgresql":
        return get_case(session, case_id)
    return _locked(session, _TAKE_CASE, case_id)


def _locked(session, statement, case_id):
    """The case read by a locking `statement`, remembered as held by this transaction."""
    row = statement.first(session.connection(), {"w_id": str(case_id)})
    if row is None:
        return None
    case = _attach(session, row)
    remember_locked(session, case)
    return case


def _key(case_id):
    return Case, (str(case_id),), None


def _attach(session, row):
    """A persistent `Case` for a row just read: the session's own object brought up to date,
    or a new one made persistent without another query."""
    values = row._mapping
    case = session.identity_map.get(_key(row.id))
    if case is not None:
        for name, value in values.items():
            set_committed_value(case, name, value)
        return case
    # Built as the ORM's loader builds objects (state first, then its dict), not through
    # `Case(...)`, whose per-attribute events cost more than the row's query.
    case = _CASE_CLASS.new_instance()
    instance_dict(case).update(values)
    make_transient_to_detached(case)  # as if loaded: no history, nothing to write
    session.add(case)
    return case


def write_case(session, case, changes, events):
    """Write a persistent case's `changes` (and whatever else of its changing columns was set
    on the object since it was read) and append its new audit events.

    The UPDATE carries the version and the audit head the case was read with: a transaction
    that raced this one and changed either makes it fail (`StaleDataError`, a 409 to the
    caller) instead of overwriting a newer state or forking the audit chain. That same check
    makes the values read with that version the row's values, so a column whose new value
    equals them is left out.
    """
    start = case.audit_head
    head = chain_rows(case.id, events, start)
    modified = instance_state(case).committed_state  # set through the ORM since read
    values = {}
    for name in CHANGING:
        current = getattr(case, name)
        if name in modified:
            values[name] = changes.get(name, current)
        elif name in changes and changes[name] != current:
            values[name] = changes[name]
    written = _update_case(tuple(values)).execute(session.connection(), {
        "w_id": case.id, "w_version": case.version, "w_head": start,
        "w_next": case.version + 1, "w_new_head": head,
        **{f"v_{name}": value for name, value in values.items()}})
    if written != 1:
        raise StaleDataError(f"case {case.id} was changed by another transaction")
    for name, value in (*values.items(), ("version", case.version + 1), ("audit_head", head)):
        set_committed_value(case, name, value)
    remember_written(session, case)
    insert_events(session, events)


def insert_events(session, events):
    if events:
        _INSERT_EVENT.execute(session.connection(), events)


def finish_tasks(session, finished):
    """Mark ready task rows completed or cancelled: `finished` maps task id -> (state, at, by)."""
    if not finished:
        return
    _FINISH_TASK.execute(session.connection(), [
        {"w_id": task_id, "w_state": state, "w_at": at, "w_by": by}
        for task_id, (state, at, by) in finished.items()])
    for task_id, (state, at, by) in finished.items():
        row = session.identity_map.get((TaskRow, (task_id,), None))
        if row is not None and row.state == "ready":
            for name, value in (("state", state), ("completed_at", at), ("completed_by", by)):
                set_committed_value(row, name, value)


def insert_tasks(session, rows):
    """New ready task rows, with the reminder and escalation jobs of those with a due time."""
    if not rows:
        return
    connection = session.connection()
    _INSERT_TASK.execute(connection, rows)
    jobs = [job for row in rows if row["due_at"] is not None
            for job in job_rows(row["id"], row["case_id"], row["created_at"])]
    if jobs:
        _INSERT_JOB.execute(connection, jobs)


def insert_timers(session, rows):
    if rows:
        _INSERT_TIMER.execute(session.connection(), rows)


def insert_waits(session, rows):
    if rows:
        _INSERT_WAIT.execute(session.connection(), rows)


def drop_timers(session, case_id, task_ids):
    if task_ids:  # an executemany: an expanding IN costs more to render than it saves
        _DROP_TIMER.execute(session.connection(),
                            [{"w_case": case_id, "w_task": t} for t in task_ids])


def move_timer(session, case_id, task_id, due):
    _MOVE_TIMER.execute(session.connection(), {"w_case": case_id, "w_task": task_id, "w_due": due})


def drop_wait(session, case_id, task_id, message):
    _DROP_WAIT.execute(session.connection(),
                       {"w_case": case_id, "w_task": task_id, "w_message": message})
