"""The scheduler's tables: what falls due when, and what was sent to whom.

Every kind of due work has its own row with an indexed due column (`deadline_jobs.next_due`,
`schedules.next_due`, `schedule_runs.next_attempt_at`, `deliveries.next_attempt_at`), so a
sweep reads only what is due and costs nothing for the thousands of tasks and schedules that
are not. Rows that touch the outside world (starting a case, escalating, sending a message)
carry a lease (`leased_until`) and an attempt count: one worker holds an item at a time, a
crashed worker's item is taken up again when its lease runs out, and after the last attempt the
item is kept as `failed` for an administrator to see.
"""
from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.models import Base, BigId, JsonType, UTCDateTime

DEFAULT_CHANNELS = ["inapp", "email", "webhook"]


class ReminderRule(Base):
    """When to remind and when to escalate, for one task of one process, one process, or all.

    An empty `process_id` / `task_name` means "any"; the most specific enabled row wins. The
    migration creates the all-processes default: 3 working days and 1 day before the deadline,
    on the day, every working day while overdue, escalation after 3 overdue working days.
    """

    __tablename__ = "reminder_rules"
    __table_args__ = (UniqueConstraint("process_id", "task_name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_id: Mapped[str] = mapped_column(String(128), default="")
    task_name: Mapped[str] = mapped_column(String(128), default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    before_working_days: Mapped[list] = mapped_column(JsonType, default=lambda: [3])
    before_days: Mapped[list] = mapped_column(JsonType, default=lambda: [1])
    at_due: Mapped[bool] = mapped_column(Boolean, default=True)
    # Every N working days while overdue (0: no reminders once overdue).
    overdue_every_working_days: Mapped[int] = mapped_column(Integer, default=1)
    # Escalate after N overdue working days, again after 2N, ... (None: never automatically).
    escalate_after_working_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    hour: Mapped[int] = mapped_column(Integer, default=9)  # Beijing hour reminders go out
    channels: Mapped[list] = mapped_column(JsonType, default=lambda: list(DEFAULT_CHANNELS))
    updated_at: Mapped[object | None] = mapped_column(UTCDateTime, nullable=True)
    updated_by: Mapped[str | None] = mapped_column(String(80), nullable=True)


class DeadlineJob(Base):
    """The next reminder or escalation of one task with a due time.

    Created in the same transaction as the task row (see `engine.reminders`); `next_due` is
    NULL once nothing more is due (task done, series finished).
    """

    __tablename__ = "deadline_jobs"
    __table_args__ = (UniqueConstraint("task_id", "kind"),
                      Index("ix_deadline_jobs_next_due", "next_due"))
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id"))
    case_id: Mapped[str] = mapped_column(String(36), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # reminder | escalation
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | done | failed
    next_due: Mapped[object | None] = mapped_column(UTCDateTime, nullable=True)
    done_through: Mapped[object | None] = mapped_column(UTCDateTime, nullable=True)
    fired: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    leased_until: Mapped[object | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)


class Notification(Base):
    """An in-app notification: the unread ones make the badge in the page header."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_read", "username", "read_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(80))
    case_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    task_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    link: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[object] = mapped_column(UTCDateTime)
    read_at: Mapped[object | None] = mapped_column(UTCDateTime, nullable=True)


class Delivery(Base):
    """One message to send over an outside channel (email, webhook): the outbox.

    `recipient` is the address (or the webhook without its secret query string); a sent row
    is recorded as a `reminder_sent` event of its case.
    """

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_status_next", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(300))
    username: Mapped[str | None] = mapped_column(String(80), nullable=True)
    case_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    task_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    element: Mapped[str | None] = mapped_column(String(128), nullable=True)
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict] = mapped_column(JsonType, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[object] = mapped_column(UTCDateTime)
    leased_until: Mapped[object | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[object] = mapped_column(UTCDateTime)
    sent_at: Mapped[object | None] = mapped_column(UTCDateTime, nullable=True)


class Schedule(Base):
    """A recurring case: which process, for which organisations, on which dates.

    `rule` is an RFC 5545 recurrence rule over dates (``FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1``,
    counted from `anchor`) or ``hook:NAME`` for dates that come from data (contract end dates).
    Each date is a *target*; the case starts `lead_working_days` working days before it (on the
    next working day when the lead is 0) at `hour` Beijing time. With `per_kind` set, one case
    starts for every organisation of that kind under `org_code` (every community of a street).
    """

    __tablename__ = "schedules"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    process_id: Mapped[str] = mapped_column(String(128))
    org_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    per_kind: Mapped[str | None] = mapped_column(String(32), nullable=True)
    rule: Mapped[str] = mapped_column(String(500))
    anchor: Mapped[object] = mapped_column(Date)
    lead_working_days: Mapped[int] = mapped_column(Integer, default=0)
    hour: Mapped[int] = mapped_column(Integer, default=9)
    params: Mapped[dict] = mapped_column(JsonType, default=dict)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    next_due: Mapped[object | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    done_through: Mapped[object] = mapped_column(UTCDateTime)
    created_at: Mapped[object] = mapped_column(UTCDateTime)
    updated_at: Mapped[object] = mapped_column(UTCDateTime)


class ScheduleRun(Base):
    """One case to start for one schedule, target date and organisation: started exactly once,
    which the unique key guarantees even if two sweeps expand the same date."""

    __tablename__ = "schedule_runs"
    __table_args__ = (UniqueConstraint("schedule_id", "occurrence", "org_code"),
                      Index("ix_schedule_runs_status_next", "status", "next_attempt_at"))
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("schedules.id"))
    occurrence: Mapped[str] = mapped_column(String(120))
    org_code: Mapped[str] = mapped_column(String(64), default="")
    target: Mapped[str] = mapped_column(String(32))  # the target date, ISO
    due_at: Mapped[object] = mapped_column(UTCDateTime)
    detail: Mapped[dict] = mapped_column(JsonType, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | started | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[object] = mapped_column(UTCDateTime)
    leased_until: Mapped[object | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    case_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[object] = mapped_column(UTCDateTime)
