"""generated documents (notices, publicity, minutes as PDF); an index for the statistics

The statistics tables count rectifications whose deadline passed or that went to the street
from the audit trail (`events` of one kind and element in a period); without an index that is a
scan of every event of every case. The index lives here, with the tables that need it, and not
in the engine's model.

Revision ID: w0006_generated_documents
Revises: w0001
"""
import sqlalchemy as sa
from alembic import op

revision = "w0006_generated_documents"
down_revision = "w0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "generated_documents",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
                  autoincrement=True),
        sa.Column("case_id", sa.String(36), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("case_revision", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("generated_at", sa.DateTime(), nullable=False),
        sa.Column("generated_by", sa.String(80), nullable=False),
        sa.UniqueConstraint("case_id", "kind", name="uq_generated_documents_case_kind"),
    )
    op.create_index("ix_generated_documents_case_id", "generated_documents", ["case_id"])
    op.create_index("ix_events_statistics", "events", ["kind", "element", "at"])


def downgrade():
    op.drop_index("ix_events_statistics", table_name="events")
    op.drop_index("ix_generated_documents_case_id", table_name="generated_documents")
    op.drop_table("generated_documents")
