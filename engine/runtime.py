"""Loading, stepping and saving one case, with its audit trail and projections.

Every command on a case (start, complete, message, timer) goes through a `CaseRun`: load the
row and the pruned SpiffWorkflow state, change the workflow, let the engine steps run, then in
`save()`: append audit events for what completed, fired or was received; bring the task, timer
and message-wait projections in line; prune the history; write the state with a version check.
The caller's unit of work commits all of it, or none.
"""
import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import inspect
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from engine import case_store, history, spiff, timers
from engine.audit_chain import chain_rows
from engine.calendar import CHINA_TZ
from engine.db import locked_case
from engine.deployment import ACTIVITY_TAGS, HUMAN_TAGS
from engine.errors import Conflict, NotFound
from engine.handlers import ServiceContext
from engine.models import Case, Event, MessageWait, ProcessDefinition, TimerRow
from engine.scripts import ClockScriptEngine, ScriptRefused

AUDITED = "linkage_audited"
STATUS_NAMES = {"running": "进行中", "completed": "完成", "cancelled": "取消", "error": "出错"}


class CaseFailed(Exception):
    """A script or expression failed while the case ran; the case goes to `error`."""


def all_tasks(workflow):
    yield from workflow.tasks.values()
    for sub in workflow.subprocesses.values():
        yield from sub.tasks.values()


def find_task(workflow, task_id):
    key = uuid.UUID(str(task_id))
    found = workflow.tasks.get(key)
    if found is None:
        for sub in workflow.subprocesses.values():
            found = sub.tasks.get(key)
            if found is not None:
                break
    return found


def _bpmn_id(task):
    return getattr(task.task_spec, "bpmn_id", None)


def _message_names(definition):
    if isinstance(definition, MessageEventDefinition):
        return [definition.name]
    return [n for d in getattr(definition, "event_definitions", []) for n in _message_names(d)]


class CaseRun:
    def __init__(self, runtime, session, case, definition, workflow, actor):
        self.runtime, self.session, self.case = runtime, session, case
        self.definition, self.workflow, self.actor = definition, workflow, actor
        self.meta = definition.task_meta
        self.engine = workflow.script_engine
        self.engine.journal = []
        self.engine.environment.dispatch = self._dispatch
        self.completed_by = {}
        self.events = []  # new audit events (rows), chained and written by `save`
        self.outbox = []  # (message name, payload) thrown to other cases, routed after save
        # What the projection tables hold for this case: they were written from exactly the
        # state just loaded (same transaction as the state), so `save` writes only the
        # difference and never has to read them back.
        self._projected = _projection(workflow, self.meta)

    def _dispatch(self, name, kwargs):
        context = ServiceContext(self.session, self.case, self.now, self.actor)
        return self.runtime.handlers.call(name, context, kwargs)

    def start_by_message(self, name, payload):
        """Begin a new case at its message start event `name` instead of its none start.

        SpiffWorkflow treats several start events as exclusive but fires a none start at once;
        so step only up to the start events, cancel every other start, then catch the message.
        """
        wf = self.workflow
        for _ in range(2):  # `Start`, then `StartEventSplit` when there are several starts
            for task in [t for t in wf.get_tasks(state=TaskState.READY)
                         if not _bpmn_id(t) and t.task_spec.name in ("Start", "StartEventSplit")]:
                task.run()
        catcher = None
        for task in wf.get_tasks(state=TaskState.NOT_FINISHED_MASK):
            if self.meta.get(_bpmn_id(task), {}).get("tag") != "startEvent":
                continue
            if name in _message_names(getattr(task.task_spec, "event_definition", None)):
                catcher = task
            else:
                task.cancel()
        if catcher is None:
            raise CaseFailed(f"流程没有名为 {name} 的消息开始事件")
        wf.refresh_waiting_tasks()
        wf.catch(BpmnEvent(catcher.task_spec.event_definition, payload=dict(payload)))

    @property
    def now(self):
        return self.runtime.clock.now()

    def event(self, kind, element=None, detail=None, actor=None):
        self.events.append({"case_id": self.case.id, "at": self.now, "actor": actor or self.actor,
                            "kind": kind, "element": element, "detail": detail or {}})

    def run_engine(self):
        """Run engine steps; a failing script puts the case in `error` (raised as CaseFailed)."""
        try:
            self.workflow.do_engine_steps()
        except (SpiffWorkflowException, ScriptRefused, NameError, TypeError, ValueError,
                KeyError, AttributeError, ZeroDivisionError) as exc:
            raise CaseFailed(_describe(exc)) from exc

    # -- saving ---------------------------------------------------------------------------
    def save(self):
        """Write the step: the case's state and columns, its audit events, its projections.

        Plain statements (`engine.case_store`), not the ORM's unit of work: this runs on every
        step of every case. Nothing is read back; what the projection tables held was worked
        out when the case was loaded.
        """
        session, case = self.session, self.case
        with session.no_autoflush:
            self.audit()
            data = self._case_data()
            now = _projection(self.workflow, self.meta)
            finished, new_tasks = self._project_tasks(now.ready)
            changes = {"data": data, "updated_at": self.now}
            if self.workflow.completed and case.status == "running":
                changes.update(status="completed", completed_at=self.now)
                self.event("case_completed")
            history.prune(self.workflow)
            changes["state"] = spiff.dump_state(self.workflow)
        events, self.events = self.events, []
        if inspect(case).pending or self._orm_events_pending():
            for name, value in changes.items():
                setattr(case, name, value)
            if inspect(case).pending:  # a new case: its INSERT carries the head
                case.audit_head = chain_rows(case.id, events, case.audit_head)
                session.flush()
                case_store.insert_events(session, events)
            else:
                # Someone appended events to this case through the ORM in this transaction:
                # the flush chains ours after theirs, in the order they were made.
                session.add_all(Event(**row) for row in events)
                session.flush()
        else:
            if session.new or session.deleted:
                session.flush()  # rows this case's new rows may refer to
            # Committed values, not attribute changes: nothing is left for the ORM to flush.
            case_store.write_case(session, case, changes, events)
        case_store.finish_tasks(session, finished)
        case_store.insert_tasks(session, new_tasks)
        self._project_waits(now.timers, now.waits)
        self._projected = now

    def _orm_events_pending(self):
        return any(isinstance(o, Event) and o.case_id == self.case.id for o in self.session.new)

    def _case_data(self):
        wf = self.workflow
        if wf.completed:
            source = wf.data
        else:
            last = wf.last_task
            source = last.data if last is not None else {}
        return _jsonable(source)

    def audit(self):
        for task, due in self.engine.journal:
            self.event("timer_fired", _bpmn_id(task),
                       {"due_at": due.isoformat(), "name": self.meta.get(_bpmn_id(task), {}).get("name")},
                       actor="scheduler")
        self.engine.journal = []
        done = [t for t in all_tasks(self.workflow)
                if t.state == TaskState.COMPLETED and not t.internal_data.get(AUDITED)]
        done.sort(key=lambda t: t.last_state_change)
        for task in done:
            task.internal_data[AUDITED] = True
            element = _bpmn_id(task)
            entry = self.meta.get(element)
            if entry is None or entry["tag"] not in ACTIVITY_TAGS:
                continue
            actor = self.completed_by.get(str(task.id), "engine" if entry["tag"] not in HUMAN_TAGS else self.actor)
            self.event("task_completed", element, {"name": entry["name"], "task_id": str(task.id)},
                       actor=actor)
        for thrown in self.workflow.get_events():
            names = _message_names(thrown.event_definition)
            if names:
                self.event("message_sent", None, {"name": names[0]})
                self.outbox.append((names[0], _outgoing_payload(thrown.payload)))

    def _project_tasks(self, ready):
        """The task rows to finish (id -> (state, at, by)) and the new ones to insert."""
        stored, finished, new = self._projected.ready, {}, []
        for task_id in stored.keys() - ready.keys():
            by = self.completed_by.get(task_id)
            finished[task_id] = ("completed", self.now, by) if by else ("cancelled", None, None)
        for task_id, task in ready.items():
            if task_id in stored:
                continue
            element = _bpmn_id(task)
            entry = self.meta[element]
            new.append({
                "id": task_id, "case_id": self.case.id, "process_id": self.case.process_id,
                "name": element, "title": entry["name"], "lane": entry.get("lane"),
                "candidate_groups": entry.get("candidate_groups") or [],
                "form_key": entry.get("form_key") or f"{self.case.process_id}.{element}",
                "compound": self.case.compound, "org_path": self.case.org_path or "",
                "state": "ready", "assignee": _evaluate_text(self.workflow, task, entry.get("assignee")),
                "created_at": self.now, "due_at": self._due(task, entry.get("due")),
                "completed_at": None, "completed_by": None})
        return finished, new

    def _due(self, task, expression):
        if not expression:
            return None
        text = timers.literal_or_expression(expression)
        try:
            value = self.workflow.script_engine.evaluate(task, text)
        except Exception as exc:  # noqa: BLE001 - a bad due date fails the case, clearly
            raise CaseFailed(f"任务 {_bpmn_id(task)} 的期限表达式无法计算: {_describe(exc)}") from exc
        return due_from_value(value, self.now)

    def _project_waits(self, timers_now, waits_now):
        stored, case_id, session = self._projected, self.case.id, self.session
        gone = [task_id for task_id in stored.timers if task_id not in timers_now]
        case_store.drop_timers(session, case_id, gone)
        moved, new_timers, new_waits = [], [], []
        for task_id, (task, due) in timers_now.items():
            if task_id not in stored.timers:
                element = _bpmn_id(task)
                new_timers.append({"case_id": case_id, "task_id": task_id, "element": element,
                                   "name": self.meta.get(element, {}).get("name") or element,
                                   "due_at": due})
            elif stored.timers[task_id][1] != due:
                case_store.move_timer(session, case_id, task_id, due)
                moved.append(task_id)
        if gone or moved:
            self._forget(TimerRow, lambda row: row["task_id"] in gone or row["task_id"] in moved)
        dropped = [key for key in stored.waits if key not in waits_now]
        for task_id, name in dropped:
            case_store.drop_wait(session, case_id, task_id, name)
        if dropped:
            self._forget(MessageWait, lambda row: (row["task_id"], row["message"]) in dropped)
        for (task_id, name), task in waits_now.items():
            if (task_id, name) not in stored.waits:
                new_waits.append({"case_id": case_id, "task_id": task_id,
                                  "element": _bpmn_id(task), "message": name})
        case_store.insert_timers(session, new_timers)
        case_store.insert_waits(session, new_waits)

    def _forget(self, cls, matches):
        """Drop this session's objects of rows just deleted or changed by the statements above:
        a stale object would shadow the row (and SQLite reuses a deleted row's id)."""
        for obj in [o for o in self.session.identity_map.values() if isinstance(o, cls)]:
            loaded = inspect(obj).dict  # what is loaded, without loading anything
            if loaded.get("case_id") == self.case.id and matches(loaded):
                self.session.expunge(obj)


@dataclass
class _Projection:
    ready: dict   # task id -> task: ready human tasks (rows in `tasks` with state ready)
    timers: dict  # task id -> (task, due time): waiting timers (rows in `timers`)
    waits: dict   # (task id, message name) -> task: waiting message catchers (`message_waits`)


def _projection(workflow, meta):
    """What the projection tables should hold for a workflow in this state."""
    ready, timers_now, waits_now = {}, {}, {}
    for task in all_tasks(workflow):
        if task.state == TaskState.READY:
            if meta.get(_bpmn_id(task), {}).get("tag") in HUMAN_TAGS:
                ready[str(task.id)] = task
        elif task.state == TaskState.WAITING:
            definition = getattr(task.task_spec, "event_definition", None)
            if definition is None:
                continue
            due = timers.due_at(task) if timers.timer_definitions(definition) else None
            if due is not None:
                timers_now[str(task.id)] = (task, due)
            for name in _message_names(definition):
                waits_now[(str(task.id), name)] = task
    return _Projection(ready, timers_now, waits_now)


def _outgoing_payload(data):
    """What a thrown message carries: the thrower's `message_data` dict if it set one, else its
    whole data (SpiffWorkflow throws a copy of the task data)."""
    data = data if isinstance(data, dict) else {}
    chosen = data.get("message_data") if isinstance(data.get("message_data"), dict) else data
    return _jsonable({k: v for k, v in chosen.items() if k != "message_data"})


def due_from_value(value, now):
    """A due time from what a due expression gave: an ISO duration, a date-time or a date.

    A bare date means the end of that day in Beijing, as deadlines are read here.
    """
    if isinstance(value, timedelta):
        return now + value
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=CHINA_TZ)
    if hasattr(value, "isoformat") and not isinstance(value, str):
        return datetime.combine(value, time(23, 59, 59), CHINA_TZ)
    text = str(value).strip()
    if text.upper().startswith("P"):
        parsed = TimerEventDefinition.parse_iso_duration(text)
        return now + TimerEventDefinition.get_timedelta_from_start(parsed, now)
    if len(text) == 10:
        return datetime.combine(datetime.fromisoformat(text).date(), time(23, 59, 59), CHINA_TZ)
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=CHINA_TZ)


def _evaluate_text(workflow, task, expression):
    if not expression:
        return None
    if expression.startswith("${") and expression.endswith("}"):
        return str(workflow.script_engine.evaluate(task, expression[2:-1]))
    return expression


def _describe(exc):
    text = str(exc).split("\n")[0] or exc.__class__.__name__
    return f"{exc.__class__.__name__}: {text}" if exc.__class__.__name__ not in text else text


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items() if not str(k).startswith("_")}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


class Runtime:
    """Creates and opens `CaseRun`s; holds the clock and the parsed-spec cache."""

    def __init__(self, clock, specs, handlers):
        self.clock, self.specs, self.handlers = clock, specs, handlers
        self._definitions = {}  # definition id -> an unattached copy of its row

    def definition(self, session, definition_id):
        """A deployed definition never changes: its row (with the parsed `task_meta`) is read
        once per process and kept, as an unattached copy no session can expire or flush."""
        found = self._definitions.get(definition_id)
        if found is None:
            row = session.get(ProcessDefinition, definition_id)
            found = ProcessDefinition(**{c.key: getattr(row, c.key)
                                         for c in ProcessDefinition.__table__.columns})
            self._definitions[definition_id] = found
        return found

    def script_engine(self):
        return ClockScriptEngine(self.clock)

    def new(self, session, definition, actor, compound, org_path, title=""):
        spec, subs = self.specs.get(session, definition)
        workflow = spiff.new_workflow(spec, subs, self.script_engine())
        now = self.clock.now()
        case = Case(id=str(uuid.uuid4()), definition_id=definition.id,
                    process_id=definition.process_id, status="running", compound=compound,
                    org_path=org_path or "", title=title or definition.name, data={}, state="",
                    started_by=actor, started_at=now, updated_at=now)
        session.add(case)
        return CaseRun(self, session, case, definition, workflow, actor)

    def open(self, session, case_id, actor, lock=False):
        locked = locked_case(session, case_id)  # `lock_case` earlier in this transaction
        if locked is not None:
            case = locked
        elif lock and session.bind.dialect.name == "postgresql":
            case = case_store.lock_case(session, case_id)  # read afresh under the lock
        else:  # SQLite's BEGIN IMMEDIATE already holds the write lock; no query if read already
            case = case_store.get_case(session, case_id)
        if case is None:
            raise NotFound("未找到该案件")
        if case.status != "running":
            raise Conflict(f"案件已{STATUS_NAMES.get(case.status, case.status)}，不能再操作")
        definition = self.definition(session, case.definition_id)
        spec, subs = self.specs.get(session, definition)
        workflow = spiff.load_state(case.state, spec, subs, self.script_engine())
        return CaseRun(self, session, case, definition, workflow, actor)
