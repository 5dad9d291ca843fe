"""What administrators change and inspect in the scheduler: reminder rules, schedules, failures.

Every function takes the acting principal and refuses anyone but an administrator; input is
checked with Chinese messages per field before anything is written. The command line
(`linkage reminders|schedules|deliveries`) and the API call these.
"""
from datetime import date

from sqlalchemy import select

from engine.errors import Conflict, Forbidden, NotFound, ValidationFailed
from engine.queries import _page
from engine.schedules import save_schedule
from engine.scheduler_models import DeadlineJob, Delivery, ReminderRule, Schedule, ScheduleRun

CHANNELS = ("inapp", "email", "webhook")
DELIVERY_STATES = ("pending", "sent", "failed")
RUN_STATES = ("pending", "started", "failed")


def _admin(actor):
    if not actor.is_admin:
        raise Forbidden("只有管理员可以管理提醒、计划和消息发送")


def _day_list(name, value, problems):
    if value is None:
        return None
    if isinstance(value, str):
        value = [v for v in value.replace("，", ",").split(",") if v.strip()]
    try:
        days = sorted({int(v) for v in value}, reverse=True)
    except (TypeError, ValueError):
        problems[name] = ["应为以逗号分隔的天数，如 3,1"]
        return None
    if any(d < 1 or d > 60 for d in days):
        problems[name] = ["天数应在 1 至 60 之间"]
    return days


# -- reminder rules ---------------------------------------------------------------------------

def list_rules(session, actor):
    _admin(actor)
    return session.scalars(select(ReminderRule).order_by(ReminderRule.process_id,
                                                         ReminderRule.task_name)).all()


def set_rule(session, actor, now, process_id="", task_name="", **changes):
    """Create or change the rule for (process, task); unspecified settings keep their value
    (a new rule starts from the default rule's)."""
    _admin(actor)
    process_id, task_name = (process_id or "").strip(), (task_name or "").strip()
    problems = {}
    if task_name and not process_id:
        problems["task"] = ["指定任务时必须同时指定流程"]
    changes = {k: v for k, v in changes.items() if v is not None}
    for name in ("before_working_days", "before_days"):
        if name in changes:
            changes[name] = _day_list(name, changes[name], problems)
    if "channels" in changes:
        channels = changes["channels"]
        if isinstance(channels, str):
            channels = [c.strip() for c in channels.replace("，", ",").split(",") if c.strip()]
        unknown = [c for c in channels if c not in CHANNELS]
        if unknown:
            problems["channels"] = [f"未知的通道 {'、'.join(unknown)}；可用：{'、'.join(CHANNELS)}"]
        changes["channels"] = list(dict.fromkeys(channels))
    if "hour" in changes and not 0 <= int(changes["hour"]) <= 23:
        problems["hour"] = ["应为 0 至 23 之间的整数"]
    if "overdue_every_working_days" in changes and not 0 <= int(changes["overdue_every_working_days"]) <= 60:
        problems["overdue_every_working_days"] = ["应为 0 至 60 之间的工作日数（0 表示逾期后不再提醒）"]
    escalate = changes.get("escalate_after_working_days")
    if escalate is not None and escalate != "never" and not 1 <= int(escalate) <= 250:
        problems["escalate_after_working_days"] = ["应为 1 至 250 之间的工作日数"]
    if problems:
        raise ValidationFailed("提醒规则有误", fields=problems)
    if escalate == "never":
        changes["escalate_after_working_days"] = None
    rule = session.scalar(select(ReminderRule).where(ReminderRule.process_id == process_id,
                                                     ReminderRule.task_name == task_name))
    if rule is None:
        base = session.scalar(select(ReminderRule).where(ReminderRule.process_id == "",
                                                         ReminderRule.task_name == ""))
        rule = ReminderRule(process_id=process_id, task_name=task_name)
        for column in ("enabled", "before_working_days", "before_days", "at_due",
                       "overdue_every_working_days", "escalate_after_working_days", "hour",
                       "channels"):
            value = getattr(base, column) if base is not None else None
            setattr(rule, column, list(value) if isinstance(value, list) else value)
        session.add(rule)
    for name, value in changes.items():
        setattr(rule, name, value)
    rule.updated_at, rule.updated_by = now, actor.username
    session.flush()
    return rule


def delete_rule(session, actor, process_id, task_name=""):
    _admin(actor)
    if not process_id:
        raise Conflict("默认规则不能删除；可用 set 修改或停用")
    rule = session.scalar(select(ReminderRule).where(ReminderRule.process_id == process_id,
                                                     ReminderRule.task_name == (task_name or "")))
    if rule is None:
        raise NotFound("未找到该提醒规则")
    session.delete(rule)


# -- schedules --------------------------------------------------------------------------------

SCHEDULE_FIELDS = ("name", "process_id", "org_code", "per_kind", "rule", "anchor",
                   "lead_working_days", "hour", "params", "enabled")


def list_schedules(session, actor):
    _admin(actor)
    return session.scalars(select(Schedule).order_by(Schedule.id)).all()


def save(session, actor, hooks, now, schedule_id=None, **values):
    """Add a schedule (no id) or change one; its next due time is counted afresh from now."""
    _admin(actor)
    values = {k: v for k, v in values.items() if v is not None and k in SCHEDULE_FIELDS}
    if isinstance(values.get("anchor"), str):
        try:
            values["anchor"] = date.fromisoformat(values["anchor"])
        except ValueError:
            raise ValidationFailed("计划设置有误", fields={"anchor": ["应为 YYYY-MM-DD"]}) from None
    if "params" in values and not isinstance(values["params"], dict):
        raise ValidationFailed("计划设置有误", fields={"params": ["应为 JSON 对象"]})
    for key in ("org_code", "per_kind"):
        if values.get(key) == "":
            values[key] = None
    if schedule_id is None:
        missing = [k for k in ("name", "process_id", "rule") if not values.get(k)]
        if missing:
            raise ValidationFailed("计划设置有误", fields={k: ["必填"] for k in missing})
        schedule = Schedule(enabled=values.pop("enabled", True), **values)
    else:
        schedule = session.get(Schedule, schedule_id)
        if schedule is None:
            raise NotFound("未找到该计划")
        for key, value in values.items():
            setattr(schedule, key, value)
    return save_schedule(session, schedule, hooks, now)


def list_runs(session, actor, status=None, page=1, per_page=50):
    _admin(actor)
    query = select(ScheduleRun)
    if status:
        if status not in RUN_STATES:
            raise ValidationFailed("状态无效", fields={"status": [f"应为 {'、'.join(RUN_STATES)} 之一"]})
        query = query.where(ScheduleRun.status == status)
    return _page(session, query, page, per_page, [ScheduleRun.due_at.desc(), ScheduleRun.id.desc()])


def retry_run(session, actor, run_id, now):
    _admin(actor)
    run = session.get(ScheduleRun, run_id)
    if run is None:
        raise NotFound("未找到该计划运行记录")
    if run.status != "failed":
        raise Conflict("只有失败的记录可以重试")
    run.status, run.attempts, run.next_attempt_at, run.leased_until = "pending", 0, now, None
    return run


def failed_jobs(session, actor):
    """Reminder and escalation jobs given up after their last attempt, with the reason."""
    _admin(actor)
    return session.scalars(select(DeadlineJob).where(DeadlineJob.status == "failed")
                           .order_by(DeadlineJob.id)).all()


def retry_job(session, actor, job_id, now):
    _admin(actor)
    job = session.get(DeadlineJob, job_id)
    if job is None:
        raise NotFound("未找到该提醒或上报记录")
    if job.status != "failed":
        raise Conflict("只有失败的记录可以重试")
    job.status, job.attempts, job.next_due, job.leased_until = "active", 0, now, None
    return job


# -- deliveries -------------------------------------------------------------------------------

def list_deliveries(session, actor, status="failed", page=1, per_page=50):
    _admin(actor)
    query = select(Delivery)
    if status:
        if status not in DELIVERY_STATES:
            raise ValidationFailed("状态无效", fields={"status": [f"应为 {'、'.join(DELIVERY_STATES)} 之一"]})
        query = query.where(Delivery.status == status)
    return _page(session, query, page, per_page, [Delivery.created_at.desc(), Delivery.id.desc()])


def retry_delivery(session, actor, delivery_id, now):
    """Send a failed delivery again (after fixing the mail server or the webhook)."""
    _admin(actor)
    row = session.get(Delivery, delivery_id)
    if row is None:
        raise NotFound("未找到该发送记录")
    if row.status != "failed":
        raise Conflict("只有发送失败的记录可以重试")
    row.status, row.attempts, row.next_attempt_at, row.leased_until = "pending", 0, now, None
    return row


def retry_all_failed_deliveries(session, actor, now):
    _admin(actor)
    rows = session.scalars(select(Delivery).where(Delivery.status == "failed")).all()
    for row in rows:
        row.status, row.attempts, row.next_attempt_at, row.leased_until = "pending", 0, now, None
    return len(rows)
