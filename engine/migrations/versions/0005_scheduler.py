"""scheduler: reminder rules, deadline jobs, notifications, deliveries, recurring schedules,
holiday arrangements loaded by administrators

Revision ID: 0005_scheduler
Revises: 0001

Ready tasks that already have a due time get their reminder and escalation jobs here, due at
once, so the first sweep after the upgrade plans them like any new task.
"""
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0005_scheduler"
down_revision = "0001"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    rules = op.create_table(
        "reminder_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_id", sa.String(length=128), nullable=False),
        sa.Column("task_name", sa.String(length=128), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("before_working_days", JSON, nullable=False),
        sa.Column("before_days", JSON, nullable=False),
        sa.Column("at_due", sa.Boolean(), nullable=False),
        sa.Column("overdue_every_working_days", sa.Integer(), nullable=False),
        sa.Column("escalate_after_working_days", sa.Integer(), nullable=True),
        sa.Column("hour", sa.Integer(), nullable=False),
        sa.Column("channels", JSON, nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("updated_by", sa.String(length=80), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("process_id", "task_name"),
    )
    op.create_table(
        "deadline_jobs",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("next_due", sa.DateTime(), nullable=True),
        sa.Column("done_through", sa.DateTime(), nullable=True),
        sa.Column("fired", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("leased_until", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("task_id", "kind"),
    )
    with op.batch_alter_table("deadline_jobs", schema=None) as batch_op:
        batch_op.create_index("ix_deadline_jobs_next_due", ["next_due"], unique=False)
        batch_op.create_index("ix_deadline_jobs_case_id", ["case_id"], unique=False)
    op.create_table(
        "notifications",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=True),
        sa.Column("task_id", sa.String(length=36), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("link", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("read_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index("ix_notifications_user_read", ["username", "read_at"], unique=False)
    op.create_table(
        "deliveries",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("recipient", sa.String(length=300), nullable=False),
        sa.Column("username", sa.String(length=80), nullable=True),
        sa.Column("case_id", sa.String(length=36), nullable=True),
        sa.Column("task_id", sa.String(length=36), nullable=True),
        sa.Column("element", sa.String(length=128), nullable=True),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("detail", JSON, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("leased_until", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_deliveries_status_next", ["status", "next_attempt_at"], unique=False)
    op.create_table(
        "schedules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("process_id", sa.String(length=128), nullable=False),
        sa.Column("org_code", sa.String(length=64), nullable=True),
        sa.Column("per_kind", sa.String(length=32), nullable=True),
        sa.Column("rule", sa.String(length=500), nullable=False),
        sa.Column("anchor", sa.Date(), nullable=False),
        sa.Column("lead_working_days", sa.Integer(), nullable=False),
        sa.Column("hour", sa.Integer(), nullable=False),
        sa.Column("params", JSON, nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("next_due", sa.DateTime(), nullable=True),
        sa.Column("done_through", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("schedules", schema=None) as batch_op:
        batch_op.create_index("ix_schedules_next_due", ["next_due"], unique=False)
    op.create_table(
        "schedule_runs",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("schedule_id", sa.Integer(), nullable=False),
        sa.Column("occurrence", sa.String(length=120), nullable=False),
        sa.Column("org_code", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=32), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("detail", JSON, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("leased_until", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("case_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["schedule_id"], ["schedules.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("schedule_id", "occurrence", "org_code"),
    )
    with op.batch_alter_table("schedule_runs", schema=None) as batch_op:
        batch_op.create_index("ix_schedule_runs_status_next", ["status", "next_attempt_at"], unique=False)
    op.create_table(
        "calendar_arrangements",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("holidays", JSON, nullable=False),
        sa.Column("workdays", JSON, nullable=False),
        sa.Column("loaded_at", sa.DateTime(), nullable=False),
        sa.Column("loaded_by", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("year"),
    )

    now = datetime.now(timezone.utc).replace(tzinfo=None)
    op.bulk_insert(rules, [{
        "process_id": "", "task_name": "", "enabled": True, "before_working_days": [3],
        "before_days": [1], "at_due": True, "overdue_every_working_days": 1,
        "escalate_after_working_days": 3, "hour": 9, "channels": ["inapp", "email", "webhook"],
        "updated_at": now, "updated_by": "migration"}])
    for kind in ("reminder", "escalation"):
        op.execute(sa.text(
            "INSERT INTO deadline_jobs (task_id, case_id, kind, status, next_due, fired, attempts) "
            "SELECT id, case_id, :kind, 'active', created_at, 0, 0 FROM tasks "
            "WHERE state = 'ready' AND due_at IS NOT NULL").bindparams(kind=kind))


def downgrade():
    op.drop_table("calendar_arrangements")
    op.drop_table("schedule_runs")
    op.drop_table("schedules")
    op.drop_table("deliveries")
    op.drop_table("notifications")
    op.drop_table("deadline_jobs")
    op.drop_table("reminder_rules")
