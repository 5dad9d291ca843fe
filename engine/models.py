"""The engine's tables.

A case's SpiffWorkflow state lives in one row (`cases.state`, kept small by `engine.history`);
everything anyone queries (ready tasks, waiting timers and messages, the audit trail) lives in
indexed projection tables written in the same transaction, so an inbox or a deadline sweep never
loads a workflow.
"""
from datetime import timezone

from sqlalchemy import (JSON, BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String,
                        Text, TypeDecorator, UniqueConstraint)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

JsonType = JSON().with_variant(JSONB(), "postgresql")
# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit key.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes on every backend (SQLite has no time zones)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        return value.replace(tzinfo=timezone.utc) if value is not None else None


class Base(DeclarativeBase):
    pass


class Organisation(Base):
    """A node of the administrative tree; `path` (codes joined by '/') makes scope a prefix match."""

    __tablename__ = "organisations"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("organisations.code"), nullable=True)
    path: Mapped[str] = mapped_column(String(512), index=True)
    attributes: Mapped[dict] = mapped_column(JsonType, default=dict)


class User(Base):
    __tablename__ = "users"
    # Reminders look up who may act on a task by role and organisation (engine.notify): with
    # a user per community, street and compound, that is 30,000 rows to scan without it.
    __table_args__ = (Index("ix_users_org_role", "org_code", "role"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(120), default="")
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(32))
    org_code: Mapped[str | None] = mapped_column(ForeignKey("organisations.code"), nullable=True)
    email: Mapped[str | None] = mapped_column(String(200), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[object] = mapped_column(UTCDateTime)


class ApiToken(Base):
    """Bearer tokens are stored hashed; a revoked token stays for the record."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[object] = mapped_column(UTCDateTime)
    revoked_at: Mapped[object | None] = mapped_column(UTCDateTime, nullable=True)


class ProcessDefinition(Base):
    """One deployed version of one process. Content-addressed: the same file deployed twice is
    the same version; a running case stays on the version it started with."""

    __tablename__ = "process_definitions"
    __table_args__ = (UniqueConstraint("process_id", "version"),
                      UniqueConstraint("process_id", "content_hash"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_id: Mapped[str] = mapped_column(String(128), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    content_hash: Mapped[str] = mapped_column(String(64))
    file_name: Mapped[str] = mapped_column(String(255))
    bpmn_xml: Mapped[str] = mapped_column(Text)
    # Definitions of called processes (call activities) pinned at deploy time.
    dependency_ids: Mapped[list] = mapped_column(JsonType, default=list)
    # Per user task: lane, candidate groups, form key, due expression, read from the XML.
    task_meta: Mapped[dict] = mapped_column(JsonType, default=dict)
    start_form: Mapped[str | None] = mapped_column(String(200), nullable=True)
    deployed_at: Mapped[object] = mapped_column(UTCDateTime)
    deployed_by: Mapped[str | None] = mapped_column(String(80), nullable=True)


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (Index("ix_cases_process_status", "process_id", "status"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definitions.id"))
    process_id: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))
    compound: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    org_path: Mapped[str] = mapped_column(String(512), default="", index=True)
    title: Mapped[str] = mapped_column(String(300), default="")
    data: Mapped[dict] = mapped_column(JsonType, default=dict)
    state: Mapped[str] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    started_by: Mapped[str | None] = mapped_column(String(80), nullable=True)
    started_at: Mapped[object] = mapped_column(UTCDateTime)
    updated_at: Mapped[object] = mapped_column(UTCDateTime)
    completed_at: Mapped[object | None] = mapped_column(UTCDateTime, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Hash of the newest audit event: deleting the last events shows (engine.audit_chain).
    audit_head: Mapped[str | None] = mapped_column(String(64), nullable=True)
    __mapper_args__ = {"version_id_col": version}


class TaskRow(Base):
    """Projection of a human task; rows stay after completion as the record of who did what."""

    __tablename__ = "tasks"
    __table_args__ = (Index("ix_tasks_state_due", "state", "due_at"),
                      Index("ix_tasks_state_org", "state", "org_path"))
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    process_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(128))
    title: Mapped[str] = mapped_column(String(300))
    lane: Mapped[str | None] = mapped_column(String(128), nullable=True)
    candidate_groups: Mapped[list] = mapped_column(JsonType, default=list)
    form_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    compound: Mapped[str | None] = mapped_column(String(64), nullable=True)
    org_path: Mapped[str] = mapped_column(String(512), default="")
    state: Mapped[str] = mapped_column(String(16))
    assignee: Mapped[str | None] = mapped_column(String(80), nullable=True, index=True)
    created_at: Mapped[object] = mapped_column(UTCDateTime)
    due_at: Mapped[object | None] = mapped_column(UTCDateTime, nullable=True)
    completed_at: Mapped[object | None] = mapped_column(UTCDateTime, nullable=True)
    completed_by: Mapped[str | None] = mapped_column(String(80), nullable=True)


class TimerRow(Base):
    """A waiting timer of a case and when it falls due: the sweep reads only this table."""

    __tablename__ = "timers"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    task_id: Mapped[str] = mapped_column(String(36))
    element: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(200))
    due_at: Mapped[object] = mapped_column(UTCDateTime, index=True)


class MessageWait(Base):
    """A case waiting for a message, by message name: correlation never loads a workflow."""

    __tablename__ = "message_waits"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    task_id: Mapped[str] = mapped_column(String(36))
    element: Mapped[str] = mapped_column(String(128))
    message: Mapped[str] = mapped_column(String(200), index=True)


class Event(Base):
    """The audit trail: appended in the same transaction as the change it records."""

    __tablename__ = "events"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[object] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(32))
    element: Mapped[str | None] = mapped_column(String(128), nullable=True)
    detail: Mapped[dict] = mapped_column(JsonType, default=dict)
    # The hash chain of the case's events (engine.audit_chain fills both on insert).
    prev_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    hash: Mapped[str | None] = mapped_column(String(64), nullable=True)


class EngineState(Base):
    """Small engine-wide values, such as the time of the last tick."""

    __tablename__ = "engine_state"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))


from engine import audit_chain  # noqa: E402,F401  (chains new events on every flush)
