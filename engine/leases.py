"""How a worker takes due rows without another worker taking the same ones.

On PostgreSQL a sweep selects due rows `FOR UPDATE SKIP LOCKED`: rows another worker holds are
passed over instead of waited for, so any number of workers split the due work between them. On
SQLite every write transaction begins with `BEGIN IMMEDIATE` (see `engine.db`): one process
writes at a time, the others queue, and each sees what the one before it committed.

Work that leaves the database (starting a case in its own transaction, sending an email) cannot
stay inside the selecting transaction. Such rows are *leased*: the selecting transaction sets
`leased_until` and commits; until then no other worker takes the row, and if the worker dies the
row is taken up again once the lease has run out.
"""
from datetime import timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import load_only

from engine.models import Case

DEFAULT_LEASE_SECONDS = 300


def skip_locked(query, session):
    """`query` locking its rows, passing over rows other transactions hold (PostgreSQL)."""
    if session.bind.dialect.name == "postgresql":
        return query.with_for_update(skip_locked=True)
    return query


def lock_rows(query, session):
    """`query` locking its rows, waiting for other transactions to let go (PostgreSQL)."""
    if session.bind.dialect.name == "postgresql":
        return query.with_for_update()
    return query


def lease_free(model, now):
    """Rows nobody holds: never leased, or the lease ran out."""
    return or_(model.leased_until.is_(None), model.leased_until <= now)


def lease_end(now, seconds):
    return now + timedelta(seconds=seconds)


def backoff(base_seconds, attempts):
    """Wait before attempt `attempts + 1`: base, 2×base, 4×base, ... (capped at one day)."""
    return timedelta(seconds=min(base_seconds * 2 ** max(0, attempts - 1), 86400))


CASE_HEADER = (Case.id, Case.title, Case.org_path, Case.compound, Case.audit_head, Case.version)


def lock_case(session, case_id, wait=False):
    """The case row's header (not its workflow state), locked for this transaction so that its
    audit chain can grow; None if another worker holds it and `wait` is false."""
    query = (select(Case).options(load_only(*CASE_HEADER)).where(Case.id == case_id)
             .execution_options(populate_existing=True))
    return session.scalars((lock_rows if wait else skip_locked)(query, session)).first()


def lock_cases(session, case_ids):
    """Lock the headers of several cases at once: {id: case} of those this transaction now
    holds (on PostgreSQL, cases other workers hold are left out rather than waited for). Keep
    the result while working: the session remembers only the objects someone refers to."""
    if not case_ids:
        return {}
    query = (select(Case).options(load_only(*CASE_HEADER)).where(Case.id.in_(sorted(case_ids)))
             .execution_options(populate_existing=True))
    return {case.id: case for case in session.scalars(skip_locked(query, session))}
