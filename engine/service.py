"""The service layer: every command the API, the CLI and the scheduler can give.

Each method is one unit of work (one transaction) and takes the acting `Principal`. Entry
points translate their input, call one method here and render what comes back; no entry point
touches a workflow or a table directly.
"""
from datetime import datetime

from sqlalchemy import select
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState

from engine import deployment
from engine.access import SYSTEM, in_scope, may_act
from engine.case_store import lock_case, take_case, task_for_change
from engine.clock import Clock, aware
from engine.errors import BadRequest, Conflict, Forbidden, NotFound, ValidationFailed
from engine.forms import FormRegistry
from engine.handlers import HandlerRegistry
from engine.models import (Case, EngineState, Event, MessageWait, Organisation, ProcessDefinition,
                           TaskRow)
from engine.runtime import CaseFailed, Runtime, all_tasks, find_task
from engine.sweep import Scheduler, last_tick
from engine.timers import due_at

MAX_FIRINGS_PER_CASE = 1000
MAX_ROUTING_DEPTH = 5  # a case starting a case starting a case...: a loop in the models stops here
LEVELS = ("clerk", "street", "bureau")  # community -> street -> housing bureau
ESCALATE_MESSAGE = "escalate"


class Engine:
    def __init__(self, database, clock=None, forms=None, handlers=None):
        self.db = database
        self.clock = clock or Clock()
        self.forms = forms or FormRegistry()
        self.handlers = handlers or HandlerRegistry()
        self.specs = deployment.SpecCache()
        self.runtime = Runtime(self.clock, self.specs, self.handlers)
        self.scheduler = Scheduler()  # reminders, escalations, recurring cases, outbox

    # -- deployment -----------------------------------------------------------------------
    def deploy(self, files, actor=SYSTEM):
        if not actor.is_admin:
            raise Forbidden("只有管理员可以部署流程")
        with self.db.unit_of_work() as session:
            return deployment.deploy(session, files, actor.username, self.clock.now())

    # -- cases ----------------------------------------------------------------------------
    def start_case(self, actor, process_id, data=None, compound=None, version=None):
        data = {} if data is None else data
        with self.db.unit_of_work() as session:
            definition = self.runtime.definition(
                session, deployment.definition_id(session, process_id, version))
            org_path = self._case_scope(session, actor, compound)
            clean = self.forms.validate(definition.start_form, data, {"actor": actor}) \
                if definition.start_form else self.forms.validate(None, data)
            run = self.runtime.new(session, definition, actor.username, compound, org_path,
                                   title=str(clean.get("title") or definition.name))
            run.workflow.data.update(clean)
            run.workflow.task_tree.data.update(clean)
            run.event("case_started", None, {"process_id": process_id, "version": definition.version})
            try:
                run.run_engine()
            except CaseFailed as exc:
                return self._fail_new_case(session, run, str(exc))
            self._save(session, run)
            return run.case

    def _save(self, session, run, depth=0):
        """Save a stepped case, then route the messages it threw to other cases.

        A message named like a process's message start event starts a new case of that process
        (latest version, same compound); a payload naming `target_case_id` goes to that running
        case instead. All in the caller's transaction: the throw and its effect commit together.
        """
        run.save()
        for name, payload in run.outbox:
            self._route(session, run.case, name, payload, depth)
        run.outbox = []

    def _route(self, session, source, name, payload, depth):
        if depth >= MAX_ROUTING_DEPTH:
            self._note(session, source, "message_undelivered",
                       {"name": name, "reason": f"消息连锁超过 {MAX_ROUTING_DEPTH} 层，已停止"})
            return
        target = payload.get("target_case_id")
        if target:
            self._route_to_case(session, source, name, payload, str(target), depth)
            return
        starters = [d for d in self._latest_definitions(session)
                    if name in deployment.message_starts(d)]
        if not starters:
            self._note(session, source, "message_undelivered",
                       {"name": name, "reason": "没有流程以此消息开始"})
        for definition in starters:
            self._start_child(session, source, definition, name, payload, depth)

    def _latest_definitions(self, session):
        latest = {}
        for definition in session.scalars(select(ProcessDefinition)
                                          .order_by(ProcessDefinition.version)):
            latest[definition.process_id] = definition
        return list(latest.values())

    def _start_child(self, session, source, definition, name, payload, depth):
        data = {**payload, "parent_case_id": source.id, "parent_process_id": source.process_id}
        savepoint = session.begin_nested()
        try:
            run = self.runtime.new(session, definition, "engine", source.compound, source.org_path,
                                   title=str(data.get("title") or definition.name))
            run.workflow.task_tree.data.update(data)
            run.event("case_started", None, {"process_id": definition.process_id,
                                             "version": definition.version, "message": name,
                                             "parent_case_id": source.id})
            run.start_by_message(name, data)
            run.run_engine()
            self._save(session, run, depth + 1)
        except CaseFailed as exc:
            savepoint.rollback()
            self._note(session, source, "message_undelivered",
                       {"name": name, "process_id": definition.process_id, "reason": str(exc)})
            return
        savepoint.commit()
        self._note(session, source, "case_linked",
                   {"name": name, "case_id": run.case.id, "process_id": definition.process_id})

    def _route_to_case(self, session, source, name, payload, case_id, depth):
        wait = session.scalar(select(MessageWait).where(MessageWait.case_id == case_id,
                                                        MessageWait.message == name))
        if wait is None:
            self._note(session, source, "message_undelivered",
                       {"name": name, "case_id": case_id, "reason": "目标案件没有等待此消息"})
            return
        data = {**payload, "from_case_id": source.id}
        savepoint = session.begin_nested()
        try:
            self._deliver(session, SYSTEM, case_id, name, data, wait.element, depth + 1)
        except (CaseFailed, ValidationFailed, Conflict) as exc:
            savepoint.rollback()
            self._note(session, source, "message_undelivered",
                       {"name": name, "case_id": case_id, "reason": str(exc)})
            return
        savepoint.commit()

    def _note(self, session, case, kind, detail):
        session.add(Event(case_id=case.id, at=self.clock.now(), actor="engine", kind=kind,
                          element=None, detail=detail))

    def _fail_new_case(self, session, run, message):
        """A case whose first steps failed is kept, in `error`, with the reason: never half-run."""
        case_id = run.case.id
        session.rollback()
        fresh = self.runtime.new(session, run.definition, run.actor, run.case.compound,
                                 run.case.org_path, run.case.title)
        fresh.case.id = case_id
        fresh.case.status, fresh.case.error = "error", message
        fresh.event("case_started", None, {"process_id": run.definition.process_id,
                                           "version": run.definition.version})
        fresh.event("case_error", None, {"message": message})
        fresh.save()
        return fresh.case

    def _case_scope(self, session, actor, compound):
        if compound:
            org = session.get(Organisation, compound)
            if org is None:
                raise ValidationFailed("小区不存在", fields={"compound": [f"未找到小区 {compound}"]})
            if not in_scope(actor, org.path):
                raise Forbidden("不能在本辖区以外发起案件")
            return org.path
        return actor.org_path

    def cancel_case(self, actor, case_id, reason=""):
        with self.db.unit_of_work() as session:
            run = self._open_visible(session, actor, case_id)
            if not actor.is_supervisor and run.case.started_by != actor.username:
                raise Forbidden("只有发起人或监管人员可以取消案件")
            run.workflow.cancel()
            run.case.status = "cancelled"
            run.case.completed_at = self.clock.now()
            run.event("case_cancelled", None, {"reason": reason})
            run.save()
            return run.case

    def _open_visible(self, session, actor, case_id):
        case = session.get(Case, str(case_id))
        if case is None or not in_scope(actor, case.org_path):
            raise NotFound("未找到该案件")
        return self.runtime.open(session, case_id, actor.username, lock=True)

    # -- tasks ----------------------------------------------------------------------------
    def _visible_task(self, session, actor, task_id):
        row = session.get(TaskRow, str(task_id))
        if row is None or not in_scope(actor, row.org_path):
            raise NotFound("未找到该任务")
        if session.bind.dialect.name == "postgresql":
            # Every caller changes the task: take its case's row lock first, then read the task
            # again, or two racing claims could both read "unclaimed" and both win. (SQLite's
            # BEGIN IMMEDIATE already serializes writers from the start of the transaction.)
            lock_case(session, row.case_id)
            session.refresh(row)
        return row

    def _task_to_complete(self, session, actor, task_id):
        """The task's row as a read-only record, checked like `_visible_task`: completing
        writes the row with the case's step (`engine.case_store`), so no ORM object is needed."""
        row = task_for_change(session, task_id)
        if row is None or not in_scope(actor, row.org_path):
            raise NotFound("未找到该任务")
        return row

    def complete_task(self, actor, task_id, data, view=None):
        """Complete a ready task with its form data and step the case on.

        Returns the case or, given `view(session, case)`, what it returns, computed in the
        completion's own transaction: an entry point that answers with the case's new state
        reads it there instead of opening another transaction to read it again.
        """
        view = view or (lambda _session, case: case)
        with self.db.unit_of_work() as session:
            row = self._task_to_complete(session, actor, task_id)
            if row.state != "ready":
                raise Conflict("任务已经完成或已取消")
            if not may_act(actor, row):
                raise Forbidden("您不能办理此任务")
            clean = self.forms.validate(row.form_key, data, {"actor": actor, "case_id": row.case_id})
            run = self.runtime.open(session, row.case_id, actor.username, lock=True)
            task = find_task(run.workflow, row.id)
            if task is None or task.state != TaskState.READY:
                raise Conflict("任务已经完成或已取消")
            task.data.update(clean)
            run.completed_by[row.id] = actor.username
            try:
                task.run()
                run.run_engine()
            except CaseFailed as exc:
                failed, case_id = str(exc), row.case_id
                session.rollback()
            else:
                self._save(session, run)
                return view(session, run.case)
        return self._mark_failed(case_id, actor, failed, view)

    def _mark_failed(self, case_id, actor, message, view=None):
        """Record a failed step: the case stays as it was before the step, in `error`."""
        with self.db.unit_of_work() as session:
            case = session.get(Case, case_id)
            case.status, case.error = "error", message
            session.add(Event(case_id=case_id, at=self.clock.now(), actor=actor.username,
                              kind="case_error", element=None, detail={"message": message}))
            return view(session, case) if view else case

    def claim_task(self, actor, task_id, release=False):
        with self.db.unit_of_work() as session:
            row = self._visible_task(session, actor, task_id)
            if row.state != "ready":
                raise Conflict("任务已经完成或已取消")
            if release:
                if row.assignee not in (actor.username, None) and not actor.is_supervisor:
                    raise Forbidden("只能退回自己认领的任务")
                row.assignee = None
            else:
                if row.assignee and row.assignee != actor.username:  # lost a race: 409
                    raise Conflict(f"任务已被 {row.assignee} 认领")
                if not may_act(actor, row):
                    raise Forbidden("您不能认领此任务")
                row.assignee = actor.username
            self._touch_case(session, row.case_id)
            session.add(Event(case_id=row.case_id, at=self.clock.now(), actor=actor.username,
                              kind="task_released" if release else "task_claimed",
                              element=row.name, detail={"task_id": row.id}))
            return row

    def _touch_case(self, session, case_id):
        """Bump the case version so racing claims and completions of one case serialize."""
        case = session.get(Case, case_id)
        case.updated_at = self.clock.now()
        session.flush()

    # -- messages -------------------------------------------------------------------------
    def correlate(self, actor, name, case_id=None, correlation=None, data=None):
        if not name or not isinstance(name, str):
            raise ValidationFailed("消息名称不能为空", fields={"name": ["必填"]})
        with self.db.unit_of_work() as session:
            query = select(MessageWait).where(MessageWait.message == name)
            if case_id is not None:
                case = session.get(Case, str(case_id))
                if case is None or not in_scope(actor, case.org_path):
                    raise NotFound("未找到该案件")
                query = query.where(MessageWait.case_id == str(case_id))
            waits = session.scalars(query.order_by(MessageWait.id)).all()
            delivered = []
            for wait_case_id in dict.fromkeys(w.case_id for w in waits):
                case = session.get(Case, wait_case_id)
                if not in_scope(actor, case.org_path) or case.status != "running":
                    continue
                if correlation and any(case.data.get(k) != v for k, v in correlation.items()):
                    continue
                elements = [w.element for w in waits if w.case_id == wait_case_id]
                self._deliver(session, actor, wait_case_id, name, data, elements[0])
                delivered.append(wait_case_id)
            return delivered

    def _deliver(self, session, actor, case_id, name, data, element, depth=0):
        run = self.runtime.open(session, case_id, actor.username, lock=True)
        event = BpmnEvent(MessageEventDefinition(name), payload=dict(data or {}))
        if run.workflow.event_manager.catch(event, internal=False) == 0:
            raise Conflict(f"案件当前没有等待消息 {name}")
        run.event("message_received", element, {"name": name, "data": data or {}})
        try:
            run.run_engine()
        except CaseFailed as exc:
            raise ValidationFailed(f"消息处理失败: {exc}") from exc
        self._save(session, run, depth)

    def escalate_task(self, actor, task_id, reason, automatic=False):
        """Send a task's case to the next level (community -> street -> bureau).

        A process that models escalation itself (a boundary message event named `escalate` on
        the task) gets that message; otherwise the next level joins the task's candidates.
        """
        if not actor.is_supervisor:
            raise Forbidden("只有街道、住建部门或管理员可以上报")
        with self.db.unit_of_work() as session:
            row = self._visible_task(session, actor, task_id)
            if row.state != "ready":
                raise Conflict("任务已经完成或已取消")
            level = max((LEVELS.index(g) for g in row.candidate_groups if g in LEVELS), default=0)
            if level + 1 >= len(LEVELS):
                raise Conflict("已是最高层级（住建部门），不能再上报")
            target = LEVELS[level + 1]
            session.add(Event(case_id=row.case_id, at=self.clock.now(),
                              actor="scheduler" if automatic else actor.username, kind="escalated",
                              element=row.name, detail={"reason": reason, "task_id": row.id,
                                                        "from": LEVELS[level], "to": target}))
            wait = session.scalar(select(MessageWait).where(
                MessageWait.case_id == row.case_id, MessageWait.message == ESCALATE_MESSAGE))
            if wait is not None:
                self._deliver(session, actor, row.case_id, ESCALATE_MESSAGE,
                              {"escalation_reason": reason, "escalated_to": target}, wait.element)
            else:
                row.candidate_groups = [*row.candidate_groups, target]
                self._touch_case(session, row.case_id)
            return row.case_id

    # -- time -----------------------------------------------------------------------------
    def tick(self, now=None, strict=True):
        """Fire everything due at or before `now` (timers, recurring cases, reminders,
        escalations; see `engine.sweep`), each occurrence once, in due order.

        `strict` refuses a `now` earlier than the last tick's (the CLI's `--now`); the scheduler
        passes `strict=False` and simply never goes back in time.
        """
        with self.db.unit_of_work() as session:
            state = last_tick(session)  # locked, so workers starting together do not both insert it
            last = aware(datetime.fromisoformat(state.value)) if state else None
            now = aware(now) if now is not None else self.clock.now()
            if last is not None and now < last:
                if strict:
                    raise BadRequest(f"时间不能早于上次 tick 的 {last.isoformat()}")
                now = last
            if state is None:
                session.add(EngineState(key="last_tick", value=now.isoformat()))
            else:
                state.value = now.isoformat()
        return now, self.scheduler.sweep(self, now)

    def _fire_case(self, case_id, now):
        with self.db.unit_of_work() as session:
            case = take_case(session, case_id)  # None when another worker has it
            if case is None or case.status != "running":
                return []
            run = self.runtime.open(session, case_id, "scheduler")
            try:
                fired, last_due = self._fire_due_timers(run, now)
            except CaseFailed as exc:
                failure = str(exc)
                session.rollback()
            else:
                with self.clock.at(last_due or now):
                    self._save(session, run)
                return fired
        self._mark_failed(case_id, SYSTEM, failure)
        return []

    def _fire_due_timers(self, run, now):
        """Fire the case's due timers one due time at a time, the clock pinned at each."""
        fired, last_due = [], None
        for _ in range(MAX_FIRINGS_PER_CASE):
            pending = [d for d in (due_at(t) for t in all_tasks(run.workflow)
                                   if t.state == TaskState.WAITING) if d is not None]
            if not pending or min(pending) > now:
                break
            last_due = min(pending)
            with self.clock.at(last_due):
                before = len(run.engine.journal)
                run.workflow.refresh_timers()
                fired.extend({"case_id": run.case.id, "kind": "timer",
                              "element": getattr(t.task_spec, "bpmn_id", None),
                              "due_at": d.isoformat()} for t, d in run.engine.journal[before:])
                run.run_engine()
                run.audit()
        return fired, last_due

    # -- supervisors' interventions -------------------------------------------------------
    def reassign_task(self, actor, task_id, username, reason=""):
        """A supervisor hands a ready task to a named user who may act on it (audited)."""
        from engine.access import principal_for
        from engine.models import User
        if not actor.is_supervisor:
            raise Forbidden("只有街道、住建部门或管理员可以改派任务")
        username = (username or "").strip()
        if not username:
            raise ValidationFailed("请填写改派给哪位用户", fields={"username": ["必填"]})
        with self.db.unit_of_work() as session:
            row = self._visible_task(session, actor, task_id)
            if row.state != "ready":
                raise Conflict("任务已经完成或已取消")
            user = session.scalar(select(User).where(User.username == username))
            if user is None or not user.active:
                raise ValidationFailed("用户不存在或已停用", fields={"username": [f"未找到用户 {username}"]})
            target = principal_for(session, user)
            if not in_scope(target, row.org_path) or not (
                    target.is_admin or not row.candidate_groups or target.role in row.candidate_groups):
                raise ValidationFailed("该用户不能办理此任务", fields={"username": [
                    f"{username} 不在此任务的辖区内，或不是候选角色"]})
            if row.assignee == username:
                raise ValidationFailed("任务已由该用户办理",
                                       fields={"username": [f"任务已由 {username} 认领"]})
            previous, row.assignee = row.assignee, username
            self._touch_case(session, row.case_id)
            session.add(Event(case_id=row.case_id, at=self.clock.now(), actor=actor.username,
                              kind="reassigned", element=row.name,
                              detail={"task_id": row.id, "from": previous, "to": username,
                                      "reason": reason or ""}))
            return row

    def extend_deadline(self, actor, task_id, new_due, reason):
        """A supervisor moves a ready task's deadline later, for a recorded reason.

        Boundary timers on the task that fall due exactly at its old deadline (the "deadline
        passed" timers) move with it, so the case does not escalate at the old time.
        """
        if not actor.is_supervisor:
            raise Forbidden("只有街道、住建部门或管理员可以延长期限")
        reason = (reason or "").strip()
        if not reason:
            raise ValidationFailed("请填写延期原因", fields={"reason": ["必填"]})
        new_due = aware(new_due)
        with self.db.unit_of_work() as session:
            row = self._visible_task(session, actor, task_id)
            if row.state != "ready":
                raise Conflict("任务已经完成或已取消")
            old_due = row.due_at
            if new_due <= (old_due or self.clock.now()):
                raise ValidationFailed("新的期限必须晚于原期限和当前时间", fields={"due_at": [
                    "新的期限必须晚于原期限" if old_due else "新的期限必须晚于当前时间"]})
            run = self.runtime.open(session, row.case_id, actor.username, lock=True)
            task = find_task(run.workflow, row.id)
            if task is None or task.state != TaskState.READY:
                raise Conflict("任务已经完成或已取消")
            moved = []
            for sibling in (task.parent.children if task.parent is not None else []):
                if sibling is task or old_due is None or due_at(sibling) != old_due:
                    continue
                sibling._set_internal_data(event_value=new_due.isoformat())
                moved.append(getattr(sibling.task_spec, "bpmn_id", None))
            row.due_at = new_due
            run.event("deadline_extended", row.name, {
                "task_id": row.id, "from": old_due.isoformat() if old_due else None,
                "to": new_due.isoformat(), "reason": reason, "timers": moved})
            run.save()
            return row
