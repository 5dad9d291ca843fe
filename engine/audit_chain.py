"""Tamper evidence for the audit trail: the events of each case form a SHA-256 hash chain.

Every new `Event` row gets `prev_hash` (the hash of the case's previous event, "" for the
first) and `hash` = SHA-256 of a canonical JSON of its fields and `prev_hash`; the case row
keeps the newest hash as `audit_head`. Editing an event breaks its hash, deleting one breaks
the link of the next (or the head, for the last), and `verify` names the first break.

Why per case and not one global chain: a global chain would need one "last hash" row that
every transaction appending an event must lock, serializing all writers across workers. A case
is already the unit of serialization (its row is locked or version-checked by every change), so
chaining inside it costs one column update on a row that is written anyway.

Why a flush listener: events are appended in several places (claims, escalations, reminders,
failures); chaining them in `before_flush` covers every ORM append, present and future, without
touching any of them. The one writer that bypasses the ORM, a case's own steps
(`engine.case_store`), chains its rows with `chain_rows` and moves the head in the same
version-checked UPDATE. Rows inserted behind the engine's back have no hash and are reported
as such.
"""
import hashlib
import json
from dataclasses import dataclass
from datetime import timezone

from sqlalchemy import event as sa_event
from sqlalchemy import bindparam, inspect, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from engine.db import holds_case
from engine.models import Case, Event

GENESIS = ""
FORMAT = "linkage-audit-v1"


def _normal(value):
    """The value as it reads back from any store: JSON types only, integral floats as ints
    (PostgreSQL's JSONB returns 1e20 as an integer)."""
    if isinstance(value, dict):
        return {str(k): _normal(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_normal(v) for v in value]
    if isinstance(value, float) and value.is_integer() and abs(value) < 2 ** 63:
        return int(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _timestamp(moment):
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(case_id, at, actor, kind, element, detail, prev_hash):
    """The bytes that are hashed: sorted keys, no spaces, UTF-8, times in UTC to the µs."""
    body = {"format": FORMAT, "case_id": case_id, "at": _timestamp(at), "actor": actor,
            "kind": kind, "element": element, "detail": _normal(detail or {}),
            "prev_hash": prev_hash or GENESIS}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def event_hash(row, prev_hash):
    return hashlib.sha256(canonical(row.case_id, row.at, row.actor, row.kind, row.element,
                                    row.detail, prev_hash)).hexdigest()


def chain_rows(case_id, rows, head):
    """Chain new event rows (dicts, in order) of one case onto `head`; return the new head.

    For events written as plain rows (`engine.case_store`), which no flush hook sees."""
    for row in rows:
        row["detail"] = _normal(row["detail"] or {})  # what is stored is exactly what was hashed
        row["prev_hash"] = head or GENESIS
        row["hash"] = head = hashlib.sha256(canonical(
            case_id, row["at"], row["actor"], row["kind"], row["element"], row["detail"],
            row["prev_hash"])).hexdigest()
    return head


def _case_of(session, case_id, new_cases):
    found = new_cases.get(case_id)
    if found is not None:
        return found
    with session.no_autoflush:
        return session.get(Case, case_id)


@sa_event.listens_for(Session, "before_flush")
def chain_new_events(session, _flush_context, _instances):
    """Link each new event to its case's head, in the order the events were added."""
    new_events = [o for o in session.new if isinstance(o, Event)]
    if not new_events:
        return
    new_cases = {c.id: c for c in session.new if isinstance(c, Case)}
    new_events.sort(key=lambda e: inspect(e).insert_order)
    heads = {}  # case id -> [case, head when loaded, head now]
    for row in new_events:
        if row.case_id not in heads:
            case = _case_of(session, row.case_id, new_cases)
            start = case.audit_head if case is not None else None
            heads[row.case_id] = [case, start, start]
        entry = heads[row.case_id]
        row.detail = _normal(row.detail or {})  # what is stored is exactly what was hashed
        row.prev_hash = entry[2] or GENESIS
        row.hash = entry[2] = event_hash(row, row.prev_hash)
    for case_id, (case, start, head) in heads.items():
        if case is None:
            continue  # the foreign key refuses the event
        if case in new_cases.values() or (case in session.dirty and holds_case(session, case_id)):
            # Written with the case's own (version-checked) UPDATE: a new case, or one this
            # transaction updates anyway while no other writer can move its head meanwhile.
            case.audit_head = head
            continue
        _move_head(session, case, start, head)


_CASES = Case.__table__
_HEAD_TYPE = _CASES.c.audit_head.type
_MOVE_HEAD = (update(_CASES)  # built once: every step of every case runs it
              .where(_CASES.c.id == bindparam("w_id"),
                     _CASES.c.audit_head.is_not_distinct_from(bindparam("w_start", type_=_HEAD_TYPE)))
              .values(audit_head=bindparam("w_head", type_=_HEAD_TYPE)))


def _move_head(session, case, start, head):
    """Compare-and-set the case's head, leaving its version alone: a transaction that chained
    onto a head another one has moved meanwhile fails (409), so the chain never forks."""
    moved = session.connection().execute(_MOVE_HEAD, {"w_id": case.id, "w_start": start,
                                                      "w_head": head})
    if moved.rowcount != 1:
        raise StaleDataError(f"audit head of case {case.id} moved underneath")
    set_committed_value(case, "audit_head", head)


# -- verification ---------------------------------------------------------------------------
@dataclass
class Break:
    case_id: str
    event_id: int | None
    problem: str

    def describe(self):
        where = f"案件 {self.case_id}" + (f" 的第 {self.event_id} 号记录" if self.event_id else "")
        return f"{where}: {self.problem}"


@dataclass
class Report:
    cases: int
    events: int
    first_break: Break | None

    @property
    def ok(self):
        return self.first_break is None


def verify_case(session, case_id, audit_head):
    """The first break in one case's chain (or None), and how many events were checked."""
    head, count = GENESIS, 0
    for row in session.scalars(select(Event).where(Event.case_id == case_id).order_by(Event.id)):
        count += 1
        if row.hash is None:
            return Break(case_id, row.id, "记录没有哈希（不是由引擎写入的）"), count
        if (row.prev_hash or GENESIS) != head:
            return Break(case_id, row.id, "链接断开：此前的记录被删除或改动"), count
        if event_hash(row, head) != row.hash:
            return Break(case_id, row.id, "内容被改动（哈希不符）"), count
        head = row.hash
    if (audit_head or GENESIS) != head:
        return Break(case_id, None, "末尾的记录被删除（链头与案件记录的不符）"), count
    return None, count


def verify(session, case_id=None):
    """Walk every case's chain (or one case's), oldest case first; stop at the first break."""
    query = select(Case.id, Case.audit_head).order_by(Case.started_at, Case.id)
    if case_id is not None:
        query = query.where(Case.id == case_id)
    heads = session.execute(query).all()
    events = 0
    for number, (cid, audit_head) in enumerate(heads, 1):
        broken, checked = verify_case(session, cid, audit_head)
        events += checked
        session.expunge_all()  # keep memory flat over many cases
        if broken is not None:
            return Report(number, events, broken)
    if case_id is None:
        orphan = session.scalar(select(Event.id).where(Event.case_id.not_in(select(Case.id)))
                                .order_by(Event.id).limit(1))
        if orphan is not None:
            return Report(len(heads), events, Break("?", orphan, "记录所属的案件不存在"))
    return Report(len(heads), events, None)


def rechain(session, case_id):
    """Recompute one case's chain from its stored events (used by the migration for events
    written before chaining existed). Never used to paper over a break."""
    head = GENESIS
    for row in session.scalars(select(Event).where(Event.case_id == case_id).order_by(Event.id)):
        row.prev_hash = head
        row.hash = head = event_hash(row, head)
    case = session.get(Case, case_id)
    case.audit_head = head or None
