"""audit chain: prev_hash and hash on events, audit_head on cases

Events written before this revision are chained here, once, in id order per case, so that
`linkage audit verify` covers them too (from now on they are chained as they are written).

Revision ID: 0002_audit_chain
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

revision = "0002_audit_chain"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("audit_head", sa.String(length=64), nullable=True))
    _chain_existing_events(op.get_bind())


def _chain_existing_events(bind):
    import hashlib
    import json
    from datetime import datetime, timezone

    from engine.audit_chain import GENESIS, canonical

    events = sa.table("events", sa.column("id"), sa.column("case_id"), sa.column("at"),
                      sa.column("actor"), sa.column("kind"), sa.column("element"),
                      sa.column("detail"), sa.column("prev_hash"), sa.column("hash"))
    cases = sa.table("cases", sa.column("id"), sa.column("audit_head"))
    rows = bind.execute(sa.select(events.c.id, events.c.case_id, events.c.at, events.c.actor,
                                  events.c.kind, events.c.element, events.c.detail)
                        .order_by(events.c.case_id, events.c.id)).all()
    heads = {}
    for row in rows:
        prev = heads.get(row.case_id, GENESIS)
        detail = json.loads(row.detail) if isinstance(row.detail, str) else row.detail
        at = row.at
        if isinstance(at, str):  # SQLite without type information
            at = datetime.fromisoformat(at)
        if at is not None and at.tzinfo is None:
            at = at.replace(tzinfo=timezone.utc)
        digest = hashlib.sha256(canonical(row.case_id, at, row.actor, row.kind, row.element,
                                          detail, prev)).hexdigest()
        bind.execute(events.update().where(events.c.id == row.id)
                     .values(prev_hash=prev, hash=digest))
        heads[row.case_id] = digest
    for case_id, head in heads.items():
        bind.execute(cases.update().where(cases.c.id == case_id).values(audit_head=head))


def downgrade():
    # Plain DROP COLUMN (SQLite >= 3.35 has it): a batch rebuild of `cases` would trip over
    # the foreign keys that point at it.
    op.drop_column("cases", "audit_head")
    op.drop_column("events", "hash")
    op.drop_column("events", "prev_hash")
