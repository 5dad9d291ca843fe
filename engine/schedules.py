"""Recurring cases: schedules as data, each occurrence started exactly once.

A due schedule (`schedules.next_due`) is *expanded* in the transaction that locks it: one
`schedule_runs` row per target date and organisation, keyed uniquely, and the schedule moves on
to its next start. Runs are then *started* one by one through `Engine.start_case` with the
engine clock pinned at the run's start time, so a case started late after downtime carries the
dates it would have had. A run is leased while its case starts; a retry after a crash first
looks for the case the first attempt may have started (same process, organisation, starter and
start time) before starting one.

Start data comes from a builder registered per process (`ScheduleHooks.builders`, filled by
`workflows.schedules`); dates that come from data rather than a calendar rule (contract end
dates) come from a registered occurrence hook. A schedule whose process is not deployed waits,
with a logged warning, and catches up once it is.
"""
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Callable

from dateutil.rrule import DAILY, rrule, rrulestr
from sqlalchemy import exists, select

from engine.access import Principal
from engine.calendar import add_working_days
from engine.deadlines import at_hour, local_day
from engine.errors import ValidationFailed
from engine.leases import backoff, lease_end, lease_free, skip_locked
from engine.models import Case, Organisation, ProcessDefinition
from engine.scheduler_models import Schedule, ScheduleRun

log = logging.getLogger("linkage.schedules")
SCHEDULER = Principal("scheduler", "admin")
HOOK_PREFIX = "hook:"
HOOK_RECHECK = timedelta(days=1)  # data behind a hook changes: look again daily
HOOK_GRACE_DAYS = 30             # a date entered late still starts its case within this
HORIZON_DAYS = 800
BATCH = 20
MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class HookTarget:
    """One date from data: the target date, the organisation it is for, a stable key."""

    target: date
    org_code: str
    key: str
    detail: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Occurrence:
    """What a start-data builder gets: the schedule, the target date, the organisation."""

    schedule_id: int
    schedule_name: str
    process_id: str
    params: dict
    target: date
    start_at: datetime
    org_code: str | None
    org_name: str | None
    org_kind: str | None
    org_attributes: dict
    detail: dict


@dataclass
class ScheduleHooks:
    """Per-process start-data builders and named occurrence hooks, registered by `workflows`."""

    builders: dict = field(default_factory=dict)   # process_id -> (Occurrence) -> dict
    occurrence_hooks: dict = field(default_factory=dict)  # name -> (session, Schedule, first, last)

    def builder(self, process_id: str, function: Callable):
        self.builders[process_id] = function

    def hook(self, name: str, function: Callable):
        self.occurrence_hooks[name] = function


# -- rules ------------------------------------------------------------------------------------

def parse_rule(text, anchor):
    """A recurrence rule over dates from its RFC 5545 text; Chinese errors for bad input."""
    body = (text or "").strip()
    if body.upper().startswith("RRULE:"):
        body = body[6:]
    if not body:
        raise ValidationFailed("重复规则不能为空", fields={"rule": ["必填"]})
    try:
        rule = rrulestr(body, dtstart=datetime.combine(anchor, time()), forceset=False)
    except (ValueError, TypeError) as exc:
        raise ValidationFailed("重复规则无效", fields={"rule": [
            f"无法解析 {text!r}（应为 RRULE，如 FREQ=MONTHLY;BYMONTHDAY=3,18）"]}) from exc
    if not isinstance(rule, rrule):
        raise ValidationFailed("重复规则无效", fields={"rule": ["只能是一条 RRULE"]})
    if rule._freq > DAILY:
        raise ValidationFailed("重复规则无效", fields={"rule": ["频率最小为每日（FREQ=DAILY）"]})
    return rule


def start_moment(target, lead_working_days, hour):
    """When the case for `target` starts: `lead` working days before, else that working day."""
    day = add_working_days(target, -lead_working_days) if lead_working_days > 0 \
        else add_working_days(target, 0)
    return at_hour(day, hour)


def _pad(schedule):
    return timedelta(days=schedule.lead_working_days * 3 + 15)


def calendar_targets(schedule, after, until):
    """[(start, target)] of a calendar schedule with start in (after, until], in order."""
    rule = parse_rule(schedule.rule, schedule.anchor)
    first = datetime.combine(local_day(after) - _pad(schedule), time())
    last = datetime.combine(local_day(until) + _pad(schedule), time())
    found = []
    for when in rule.between(first, last, inc=True):
        start = start_moment(when.date(), schedule.lead_working_days, schedule.hour)
        if after < start <= until:
            found.append((start, when.date()))
    return sorted(found)


def next_calendar_start(schedule, after):
    rule = parse_rule(schedule.rule, schedule.anchor)
    first = datetime.combine(local_day(after) - _pad(schedule), time())
    for when in rule.between(first, first + timedelta(days=HORIZON_DAYS), inc=True):
        start = start_moment(when.date(), schedule.lead_working_days, schedule.hour)
        if start > after:
            return start
    return None


def is_hook(schedule):
    return schedule.rule.strip().lower().startswith(HOOK_PREFIX)


def hook_name(schedule):
    return schedule.rule.strip()[len(HOOK_PREFIX):].strip()


def next_due(schedule, after, hooks):
    """The schedule's next due time after `after` (None: the rule has no more dates)."""
    if is_hook(schedule):
        return after + HOOK_RECHECK
    return next_calendar_start(schedule, after)


# -- administration ---------------------------------------------------------------------------

def validate(session, schedule, hooks):
    problems = {}
    if not schedule.name:
        problems["name"] = ["必填"]
    if not schedule.process_id:
        problems["process_id"] = ["必填"]
    if schedule.org_code and session.get(Organisation, schedule.org_code) is None:
        problems["org_code"] = [f"组织 {schedule.org_code} 不存在"]
    if not 0 <= (schedule.hour if schedule.hour is not None else -1) <= 23:
        problems["hour"] = ["应为 0 至 23 之间的整数"]
    if (schedule.lead_working_days or 0) < 0 or (schedule.lead_working_days or 0) > 250:
        problems["lead_working_days"] = ["应为 0 至 250 之间的工作日数"]
    if is_hook(schedule):
        if hook_name(schedule) not in hooks.occurrence_hooks:
            known = "、".join(sorted(hooks.occurrence_hooks)) or "（无）"
            problems["rule"] = [f"未知的日期来源 {hook_name(schedule)}；可用：{known}"]
    else:
        try:
            parse_rule(schedule.rule, schedule.anchor)
        except ValidationFailed as exc:
            problems.update(exc.fields)
    if problems:
        raise ValidationFailed("计划设置有误", fields=problems)


def save_schedule(session, schedule, hooks, now):
    """Check and store a new or changed schedule; its next due time counts from `now`."""
    schedule.lead_working_days = schedule.lead_working_days or 0
    schedule.hour = 9 if schedule.hour is None else schedule.hour
    schedule.params = schedule.params or {}
    schedule.anchor = schedule.anchor or date(local_day(now).year, 1, 1)
    validate(session, schedule, hooks)
    if schedule.created_at is None:
        schedule.created_at = now
    if schedule.done_through is None or schedule.done_through < now:
        schedule.done_through = now
    schedule.updated_at = now
    schedule.next_due = next_due(schedule, now, hooks) if schedule.enabled else None
    session.add(schedule)
    session.flush()
    return schedule


# -- expanding due schedules into runs ------------------------------------------------------

_warned = set()


def _deployed(process_id_column):
    return exists(select(ProcessDefinition.id).where(ProcessDefinition.process_id == process_id_column))


def _warn_undeployed(engine, now):
    with engine.db.unit_of_work(write=False) as session:
        waiting = session.execute(select(Schedule.id, Schedule.name, Schedule.process_id).where(
            Schedule.enabled.is_(True), Schedule.next_due <= now,
            ~_deployed(Schedule.process_id))).all()
    for schedule_id, name, process_id in waiting:
        if schedule_id not in _warned:
            _warned.add(schedule_id)
            log.warning("计划 %s（%s）的流程 %s 尚未部署，暂不发起", schedule_id, name, process_id)


def expand_due(engine, hooks, now):
    """Turn every due schedule into runs; return how many runs were created."""
    _warn_undeployed(engine, now)
    created = 0
    while True:
        with engine.db.unit_of_work() as session:
            query = (select(Schedule).where(Schedule.enabled.is_(True), Schedule.next_due <= now,
                                            _deployed(Schedule.process_id))
                     .order_by(Schedule.next_due, Schedule.id).limit(BATCH))
            schedules = session.scalars(skip_locked(query, session)).all()
            if not schedules:
                return created
            for schedule in schedules:
                try:
                    created += _expand(session, schedule, hooks, now)
                    schedule.next_due = next_due(schedule, now, hooks)
                except ValidationFailed as exc:  # a rule changed by hand in the database
                    log.error("计划 %s 的规则无效，一天后再试: %s %s", schedule.id, exc.message, exc.fields)
                    schedule.next_due = now + HOOK_RECHECK
                    continue
                schedule.done_through = now


def _expand(session, schedule, hooks, now):
    if is_hook(schedule):
        wanted = _hook_targets(session, schedule, hooks, now)
    else:
        wanted = [(start, target, org, target.isoformat(), {})
                  for start, target in calendar_targets(schedule, schedule.done_through, now)
                  for org in _target_orgs(session, schedule)]
    if not wanted:
        return 0
    keys = {(key, org) for _s, _t, org, key, _d in wanted}
    existing = set(session.execute(select(ScheduleRun.occurrence, ScheduleRun.org_code).where(
        ScheduleRun.schedule_id == schedule.id,
        ScheduleRun.occurrence.in_({k for k, _o in keys}))).all())
    added = 0
    for start, target, org, key, detail in wanted:
        if (key, org) in existing:
            continue
        existing.add((key, org))
        session.add(ScheduleRun(schedule_id=schedule.id, occurrence=key, org_code=org,
                                target=target.isoformat(), due_at=start, detail=detail,
                                status="pending", attempts=0, next_attempt_at=start,
                                created_at=now))
        added += 1
    session.flush()
    return added


def _target_orgs(session, schedule):
    """The organisation codes one occurrence starts a case for ('' for no organisation)."""
    if not schedule.per_kind:
        return [schedule.org_code or ""]
    query = select(Organisation.code).where(Organisation.kind == schedule.per_kind)
    if schedule.org_code:
        scope = session.get(Organisation, schedule.org_code)
        if scope is None:
            log.warning("计划 %s 的组织 %s 不存在", schedule.id, schedule.org_code)
            return []
        query = query.where(Organisation.path.like(scope.path + "%"))
    return list(session.scalars(query.order_by(Organisation.code)))


def _hook_targets(session, schedule, hooks, now):
    hook = hooks.occurrence_hooks.get(hook_name(schedule))
    if hook is None:
        log.warning("计划 %s 的日期来源 %s 未注册", schedule.id, hook_name(schedule))
        return []
    after = schedule.done_through - timedelta(days=HOOK_GRACE_DAYS)
    first, last = local_day(after) - _pad(schedule), local_day(now) + _pad(schedule)
    wanted = []
    for item in hook(session, schedule, first, last):
        start = start_moment(item.target, schedule.lead_working_days, schedule.hour)
        if after < start <= now:
            wanted.append((start, item.target, item.org_code or "", item.key, dict(item.detail)))
    return sorted(wanted, key=lambda w: (w[0], w[2]))


# -- starting runs ----------------------------------------------------------------------------

def _claim(engine, settings, now):
    with engine.db.unit_of_work() as session:
        query = (select(ScheduleRun).where(ScheduleRun.status == "pending",
                                           ScheduleRun.next_attempt_at <= now,
                                           lease_free(ScheduleRun, now))
                 .order_by(ScheduleRun.due_at, ScheduleRun.id).limit(BATCH))
        runs = session.scalars(skip_locked(query, session)).all()
        for run in runs:
            run.leased_until = lease_end(now, settings.lease_seconds)
            run.attempts += 1
        return runs


def start_due_runs(engine, hooks, settings, now):
    """Start the case of every run due at `now`, in due order; return the fired items."""
    fired = []
    while True:
        runs = _claim(engine, settings, now)
        if not runs:
            return fired
        for run in runs:
            fired.extend(_start(engine, hooks, settings, run, now))


def _occurrence(session, run):
    schedule = session.get(Schedule, run.schedule_id)
    org = session.get(Organisation, run.org_code) if run.org_code else None
    return schedule, Occurrence(
        schedule_id=schedule.id, schedule_name=schedule.name, process_id=schedule.process_id,
        params=dict(schedule.params or {}), target=date.fromisoformat(run.target),
        start_at=run.due_at, org_code=run.org_code or None, org_name=org.name if org else None,
        org_kind=org.kind if org else None, org_attributes=dict(org.attributes or {}) if org else {},
        detail=dict(run.detail or {}))


def _start(engine, hooks, settings, run, now):
    with engine.db.unit_of_work(write=False) as session:
        schedule, occurrence = _occurrence(session, run)
        earlier = _started_before(session, schedule, run) if run.attempts > 1 else None
    if earlier is None:
        try:
            with engine.clock.at(run.due_at):
                builder = hooks.builders.get(schedule.process_id)
                data = builder(occurrence) if builder is not None else {}
                case = engine.start_case(SCHEDULER, schedule.process_id, data, run.org_code or None)
            earlier = case.id
        except Exception as exc:  # noqa: BLE001 - recorded on the run, retried with backoff
            message = getattr(exc, "message", None) or str(exc)
            fields = getattr(exc, "fields", None)
            if fields:
                message += "：" + "；".join(f"{k}: {'，'.join(map(str, v))}" for k, v in fields.items())
            _fail(engine, settings, run, now, message)
            return []
    with engine.db.unit_of_work() as session:
        row = session.get(ScheduleRun, run.id)
        row.status, row.case_id, row.leased_until, row.last_error = "started", earlier, None, None
    return [{"case_id": earlier, "kind": "recurring", "element": schedule.process_id,
             "schedule_id": schedule.id, "org_code": run.org_code or None,
             "due_at": run.due_at.isoformat()}]


def _started_before(session, schedule, run):
    """The case an earlier, interrupted attempt of this run started, if it got that far."""
    query = select(Case.id).where(Case.process_id == schedule.process_id,
                                  Case.started_by == SCHEDULER.username,
                                  Case.started_at == run.due_at)
    query = query.where(Case.compound == run.org_code) if run.org_code \
        else query.where(Case.compound.is_(None))
    return session.scalar(query.limit(1))


def _fail(engine, settings, run, now, message):
    with engine.db.unit_of_work() as session:
        row = session.get(ScheduleRun, run.id)
        row.last_error, row.leased_until = message[:2000], None
        if row.attempts >= MAX_ATTEMPTS:
            row.status = "failed"
            log.warning("计划 %s 的案件（%s，%s）发起失败: %s", row.schedule_id, row.target,
                        row.org_code, message)
        else:
            row.next_attempt_at = now + backoff(settings.delivery_backoff_seconds, row.attempts)


# -- defaults ---------------------------------------------------------------------------------

SEEDED_KEY = "default_schedules"


def seed_defaults(session, hooks, defaults, now):
    """Create the default schedules once per installation; return how many were created.

    Once seeded, schedules are the administrator's: a default deleted or changed stays so.
    """
    from engine.models import EngineState
    if session.get(EngineState, SEEDED_KEY) is not None:
        return 0
    created = 0
    for values in defaults:
        save_schedule(session, Schedule(enabled=True, **values), hooks, now)
        created += 1
    session.add(EngineState(key=SEEDED_KEY, value=now.isoformat()))
    return created
