"""Automatic escalation of overdue tasks through `Engine.escalate_task(..., automatic=True)`.

A task whose process models its own deadline (a timer boundary event on the task, as the
rectification's "整改期限届满") is left to the process. Any other task with a due time goes one
level up (community → street → housing bureau) once it is overdue by the rule's threshold, and
one more level after each further threshold, until the top level refuses.

Escalating is a service-layer command in its own transaction, so an escalation job is leased
rather than held: after a crash between escalating and recording it, the retry first looks for
the `escalated` event the first attempt wrote (same case, task, actor and pinned time) and does
not escalate twice.
"""
import logging
from dataclasses import dataclass

from lxml import etree
from sqlalchemy import select

from engine import deadlines
from engine.access import SYSTEM
from engine.errors import Conflict
from engine.leases import backoff, lease_end, lease_free, skip_locked
from engine.models import Case, Event, ProcessDefinition, TaskRow
from engine.notify import format_deadline
from engine.reminders import RuleBook, finish, tasks_of
from engine.scheduler_models import DeadlineJob

log = logging.getLogger("linkage.escalations")
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
BATCH = 50
MAX_ATTEMPTS = 5


_hosts = {}     # definition id -> activities with a timer boundary event
_modelled = {}  # (definition id, element) -> bool; deployed definitions never change


def _timer_hosts(definition):
    """Ids of the activities that carry a timer boundary event in a deployed BPMN document."""
    if definition.id not in _hosts:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
        root = etree.fromstring(definition.bpmn_xml.encode("utf-8"), parser)
        _hosts[definition.id] = frozenset(
            node.get("attachedToRef") for node in root.iter(f"{BPMN}boundaryEvent")
            if node.find(f"{BPMN}timerEventDefinition") is not None)
    return _hosts[definition.id]


def deadline_modelled(session, task, definition_id):
    """Does the process handle this task's deadline itself, with a timer on the task?"""
    key = (definition_id, task.name)
    if key not in _modelled:
        definition = session.get(ProcessDefinition, definition_id) if definition_id else None
        documents = [] if definition is None else [definition] + [
            session.get(ProcessDefinition, d) for d in definition.dependency_ids]
        _modelled[key] = any(task.name in _timer_hosts(d) for d in documents if d is not None)
    return _modelled[key]


@dataclass(frozen=True)
class Claimed:
    """An escalation job taken by this worker, with the moments to escalate at."""

    job_id: int
    attempts: int
    task: TaskRow
    moments: list
    following: object


def _claim(engine, settings, now):
    """Plan a batch of due jobs in one transaction; lease those that must escalate now.

    Returns how many jobs were due (0: none left) and the leased ones.
    """
    with engine.db.unit_of_work() as session:
        query = (select(DeadlineJob).where(DeadlineJob.kind == "escalation",
                                           DeadlineJob.status == "active",
                                           DeadlineJob.next_due <= now, lease_free(DeadlineJob, now))
                 .order_by(DeadlineJob.next_due, DeadlineJob.id).limit(BATCH))
        jobs = session.scalars(skip_locked(query, session)).all()
        tasks, rules, claimed = tasks_of(session, jobs), RuleBook(session), []
        definitions = dict(session.execute(select(Case.id, Case.definition_id).where(
            Case.id.in_({t.case_id for t in tasks.values()}))).all()) if tasks else {}
        for job in jobs:
            task = tasks.get(job.task_id)
            rule = rules.for_task(task.process_id, task.name) if task is not None else None
            if task is None or task.state != "ready" or task.due_at is None or not rule.enabled \
                    or not rule.escalate_after_working_days \
                    or deadline_modelled(session, task, definitions.get(task.case_id)):
                finish(job)
                continue
            moments, following = deadlines.between(
                deadlines.escalation_series(rule, task.due_at), job.done_through or task.created_at, now)
            if not moments:
                _schedule_next(job, now, following)
                continue
            job.leased_until = lease_end(now, settings.lease_seconds)
            job.attempts += 1
            claimed.append(Claimed(job.id, job.attempts, task, moments, following))
        return len(jobs), claimed


def _schedule_next(job, now, following):
    job.done_through = now  # every moment up to now is handled
    job.next_due, job.attempts, job.leased_until, job.last_error = \
        (following.at if following else None), 0, None, None
    if job.next_due is None:
        job.status = "done"


def sweep(engine, settings, now):
    """Escalate every task whose threshold has come; return the fired items."""
    fired = []
    while True:
        due, claimed = _claim(engine, settings, now)
        if not due:
            return fired
        for job in claimed:
            fired.extend(_run(engine, settings, job, now))


def _run(engine, settings, job, now):
    fired, task = [], job.task
    for moment in job.moments:
        try:
            stopped = _escalate_once(engine, task, moment, retried=job.attempts > 1)
        except Exception as exc:  # noqa: BLE001 - recorded on the job, retried with backoff
            log.exception("escalating task %s failed", task.id)
            _fail(engine, settings, job, now, f"{exc.__class__.__name__}: {getattr(exc, 'message', exc)}")
            return fired
        if stopped:
            _update(engine, job, finish)
            return fired
        fired.append({"case_id": task.case_id, "kind": "escalation", "element": task.name,
                      "task_id": task.id, "due_at": moment.at.isoformat()})

        def advance(row, at=moment.at):
            row.done_through, row.fired = at, row.fired + 1
        _update(engine, job, advance)
    _update(engine, job, lambda row: _schedule_next(row, now, job.following))
    return fired


def _escalate_once(engine, task, moment, retried):
    """Escalate at `moment` (the clock pinned there); True when escalation is over for good."""
    from engine.service import LEVELS  # the service layer imports the scheduler, not vice versa
    with engine.clock.at(moment.at):
        if retried and _already_escalated(engine, task, moment):
            return False
        try:
            engine.escalate_task(SYSTEM, task.id, _reason(task, moment), automatic=True)
        except Conflict:
            with engine.db.unit_of_work(write=False) as session:
                row = session.get(TaskRow, task.id)
                if row is None or row.state != "ready" or LEVELS[-1] in (row.candidate_groups or []):
                    return True  # done meanwhile, or already at the housing bureau
            raise
    return False


def _already_escalated(engine, task, moment):
    with engine.db.unit_of_work(write=False) as session:
        return session.scalar(select(Event.id).where(
            Event.case_id == task.case_id, Event.kind == "escalated", Event.actor == "scheduler",
            Event.element == task.name, Event.at == moment.at).limit(1)) is not None


def _reason(task, moment):
    return (f"任务“{task.title}”超过办理期限（{format_deadline(task.due_at)}）仍未办理，"
            f"系统第{moment.amount}次自动上报")


def _update(engine, job, change):
    with engine.db.unit_of_work() as session:
        row = session.get(DeadlineJob, job.job_id)
        if row is not None:
            change(row)


def _fail(engine, settings, job, now, message):
    def record(row):
        row.last_error, row.leased_until = message[:2000], None
        if row.attempts >= MAX_ATTEMPTS:
            row.status = "failed"
            log.warning("escalation of task %s failed for good: %s", row.task_id, message)
        else:
            row.next_due = now + backoff(settings.delivery_backoff_seconds, row.attempts)
    _update(engine, job, record)
