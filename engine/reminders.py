"""Reminders for human tasks with a due time, and the jobs that drive them.

A task row that gets a due time gets two `deadline_jobs` rows (reminder, escalation) in the same
transaction: `engine.case_store.insert_tasks` writes them with the task rows a case's step
creates, and `_plan_jobs`, a session hook, covers any task row added through the ORM, so no
task is ever missed. A new job is due at once; its first sweep works out the task's series
(`engine.deadlines`) under the rule that applies and sets `next_due` to the first moment to come.
From then on the sweep reads only jobs whose `next_due` has come: its cost follows what is due,
not how many tasks are open.

The reminder sweep works in the transaction that locks the jobs: notifications, outbox rows,
audit events and the job's next due time are committed together or not at all, so a reminder
is neither lost nor doubled by a crash. Audit events are chained per case (`engine.audit_chain`),
so a job's case row is locked too before its events are written; a case another worker holds
right now (firing its timers) is passed over until the next round.
"""
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from engine import deadlines, notify
from engine.leases import lock_cases, skip_locked
from engine.models import TaskRow
from engine.scheduler_models import DEFAULT_CHANNELS, DeadlineJob, ReminderRule

KINDS = ("reminder", "escalation")
BATCH = 50


class DefaultRule:
    """Used only when an administrator deleted every rule, the default row included."""

    enabled = True
    before_working_days = [3]
    before_days = [1]
    at_due = True
    overdue_every_working_days = 1
    escalate_after_working_days = 3
    hour = 9
    channels = DEFAULT_CHANNELS


class RuleBook:
    """The reminder rules, read once per batch; the most specific row wins, enabled or not."""

    def __init__(self, session):
        self.rules = {(r.process_id or "", r.task_name or ""): r
                      for r in session.scalars(select(ReminderRule))}

    def for_task(self, process_id, task_name):
        for key in ((process_id, task_name), (process_id, ""), ("", "")):
            if key in self.rules:
                return self.rules[key]
        return DefaultRule


@event.listens_for(Session, "before_flush")
def _plan_jobs(session, _flush_context, _instances):
    """New task rows with a due time get their jobs; a moved due time (a supervisor extended
    it) makes the task's jobs due at once, to be planned again against the new deadline."""
    for row in [o for o in session.new if isinstance(o, TaskRow)]:
        if row.due_at is not None and row.state == "ready":
            for kind in KINDS:
                session.add(_new_job(row, kind))
    for row in [o for o in session.dirty if isinstance(o, TaskRow)]:
        if row.due_at is None or row.state != "ready" \
                or not inspect(row).attrs.due_at.history.has_changes():
            continue
        with session.no_autoflush:
            jobs = {j.kind: j for j in session.scalars(
                select(DeadlineJob).where(DeadlineJob.task_id == row.id))}
        for kind in KINDS:
            job = jobs.get(kind)
            if job is None:
                session.add(_new_job(row, kind))
            elif job.status != "failed":
                job.status, job.next_due = "active", row.created_at


def _new_job(row, kind):
    return DeadlineJob(**_job(row.id, row.case_id, row.created_at, kind))


def job_rows(task_id, case_id, created_at):
    """The jobs of a new task row with a due time, as rows (for tasks written without the ORM,
    `engine.case_store`): one per kind, due at once."""
    return [_job(task_id, case_id, created_at, kind) for kind in KINDS]


def _job(task_id, case_id, created_at, kind):
    return {"task_id": task_id, "case_id": case_id, "kind": kind, "status": "active",
            "next_due": created_at, "fired": 0, "attempts": 0}


def due_jobs(session, kind, now, limit, passed_over=()):
    query = (select(DeadlineJob).where(DeadlineJob.kind == kind, DeadlineJob.status == "active",
                                       DeadlineJob.next_due <= now)
             .order_by(DeadlineJob.next_due, DeadlineJob.id).limit(limit))
    if passed_over:
        query = query.where(DeadlineJob.id.not_in(passed_over))
    return session.scalars(skip_locked(query, session)).all()


def finish(job):
    job.status, job.next_due, job.leased_until = "done", None, None


def sweep(engine, settings, now):
    """Send every reminder due at `now`; return the fired items, one per reminder moment."""
    fired, passed_over = [], set()
    while True:
        with engine.db.unit_of_work() as session:
            jobs = due_jobs(session, "reminder", now, BATCH, passed_over)
            if not jobs:
                return fired
            fired.extend(_remind_batch(session, settings, jobs, now, passed_over))


def tasks_of(session, jobs):
    ids = [job.task_id for job in jobs]
    return {t.id: t for t in session.scalars(select(TaskRow).where(TaskRow.id.in_(ids)))}


def _remind_batch(session, settings, jobs, now, passed_over):
    """One batch in one transaction: a few statements for the batch, not several per job."""
    tasks, rules = tasks_of(session, jobs), RuleBook(session)
    due = []
    for job in jobs:
        task = tasks.get(job.task_id)
        rule = rules.for_task(task.process_id, task.name) if task is not None else None
        if task is None or task.state != "ready" or task.due_at is None or not rule.enabled:
            finish(job)
            continue
        series = deadlines.reminder_series(rule, task.due_at)
        moments, following = deadlines.between(series, job.done_through or task.created_at, now)
        if moments:
            due.append((job, task, rule, moments, following))
        else:
            _advance(job, now, following)
    held = lock_cases(session, {task.case_id for _, task, _, _, _ in due})
    people, fired = notify.Recipients(session), []
    for job, task, rule, moments, following in due:
        if task.case_id not in held:  # another worker is firing the case's timers right now
            passed_over.add(job.id)
            continue
        _advance(job, now, following)
        job.fired += len(moments)
        notify.remind(session, settings, task, held[task.case_id], moments, rule.channels or [],
                      now, people)
        fired.extend({"case_id": task.case_id, "kind": "reminder", "element": task.name,
                      "task_id": task.id, "reminder": m.kind, "due_at": m.at.isoformat()}
                     for m in moments)
    return fired


def _advance(job, now, following):
    job.done_through = now  # every moment up to now is handled
    job.next_due = following.at if following is not None else None
    if job.next_due is None:
        job.status = "done"
