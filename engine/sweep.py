"""One sweep: everything due at `now`, in the order that lets each step see the last one's work.

`Engine.tick` (and so `linkage tick`, `linkage worker` and the scheduler beside `linkage serve`)
runs `Scheduler.sweep`, after applying any holiday arrangement an administrator loaded since
the last one (`engine.calendar_store`):

1. BPMN timers, case by case (`Engine._fire_case`, the clock pinned at each due time);
2. recurring schedules expanded into runs, and due runs started as cases;
3. automatic escalations of overdue tasks;
4. task reminders (in-app notifications written, email and webhook messages queued), after
   the escalations so that a reminder goes to whoever may act on the task now;

repeated while a round started cases or escalated (their new timers and tasks may already be
due after downtime), then 5. the outbox is sent. The fired items keep the `linkage tick`
contract: `{"case_id", "kind", "element"}` with kind `timer`, `recurring`, `reminder` or
`escalation`, plus `due_at` and kind-specific keys.
"""
import logging

from sqlalchemy import and_, or_, select, text

from engine import calendar_store, channels, escalations, reminders, schedules
from engine.channels import ChannelSettings
from engine.models import EngineState, TimerRow
from engine.schedules import ScheduleHooks

log = logging.getLogger("linkage.sweep")
MAX_ROUNDS = 10
TIMER_BATCH = 500
LAST_TICK_LOCK = 0x4C4B5449434B  # PostgreSQL advisory lock key ("LKTICK")


class Scheduler:
    """The sweep's configuration: channel settings and the hooks `workflows` registers."""

    def __init__(self, settings=None, hooks=None):
        self.settings = settings or ChannelSettings.from_config()
        self.hooks = hooks or ScheduleHooks()

    def configure(self, config=None, environ=None):
        """Read the channel settings from an app config (and `LINKAGE_*` variables)."""
        self.settings = ChannelSettings.from_config(config, environ)
        return self

    def sweep(self, engine, now):
        with engine.db.unit_of_work(write=False) as session:
            calendar_store.apply(session)  # a new year's holidays an administrator loaded
        fired = []
        for _ in range(MAX_ROUNDS):
            round_fired = fire_due_timers(engine, now)
            schedules.expand_due(engine, self.hooks, now)
            started = schedules.start_due_runs(engine, self.hooks, self.settings, now)
            round_fired += started
            escalated = escalations.sweep(engine, self.settings, now)
            round_fired += escalated
            round_fired += reminders.sweep(engine, self.settings, now)
            fired += round_fired
            if not (started or escalated):
                break
        sent, failed = channels.deliver_due(engine, self.settings, now)
        if sent or failed:
            log.info("deliveries: %d sent, %d failed for good", sent, failed)
        return fired


def fire_due_timers(engine, now):
    """Fire every BPMN timer due at or before `now`, case by case, in due order.

    The due rows are walked once, in (due time, id) order: a case another worker holds, or one
    that cannot fire (in error), is passed over for this sweep instead of being read again.
    """
    fired, seen, last = [], set(), None
    while True:
        query = select(TimerRow.case_id, TimerRow.due_at, TimerRow.id).where(TimerRow.due_at <= now)
        if last is not None:
            query = query.where(or_(TimerRow.due_at > last[0],
                                    and_(TimerRow.due_at == last[0], TimerRow.id > last[1])))
        with engine.db.unit_of_work(write=False) as session:
            rows = session.execute(query.order_by(TimerRow.due_at, TimerRow.id)
                                   .limit(TIMER_BATCH)).all()
        if not rows:
            return fired
        last = (rows[-1].due_at, rows[-1].id)
        for case_id in dict.fromkeys(r.case_id for r in rows):
            if case_id not in seen:
                seen.add(case_id)
                fired.extend(engine._fire_case(case_id, now))


def last_tick(session):
    """The `last_tick` row (None before the first tick), read under a transaction-wide lock on
    PostgreSQL: workers that start together on a new database would otherwise both insert it."""
    if session.bind.dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LAST_TICK_LOCK})
    return session.get(EngineState, "last_tick")
