"""service contracts and credit records

Revision ID: w0001
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "w0001"
down_revision = "0001"
branch_labels = ("workflows",)
depends_on = None


def upgrade():
    op.create_table(
        "service_contracts",
        sa.Column("code", sa.String(64), primary_key=True),
        sa.Column("compound_code", sa.String(64), sa.ForeignKey("organisations.code"), nullable=False),
        sa.Column("enterprise_code", sa.String(64), sa.ForeignKey("organisations.code"), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("service_grade", sa.String(16), nullable=True),
        sa.Column("fee_standard", sa.Numeric(10, 2), nullable=True),
        sa.Column("notice_days", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
    )
    op.create_index("ix_service_contracts_compound_code", "service_contracts", ["compound_code"])
    op.create_index("ix_service_contracts_enterprise_code", "service_contracts", ["enterprise_code"])
    op.create_index("ix_service_contracts_ends_on", "service_contracts", ["ends_on"])
    op.create_table(
        "credit_records",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
                  autoincrement=True),
        sa.Column("enterprise_code", sa.String(64), sa.ForeignKey("organisations.code"), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("grade", sa.String(1), nullable=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("case_id", sa.String(36), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_credit_records_enterprise_year", "credit_records", ["enterprise_code", "year"])
    op.create_index("ix_credit_records_case_id", "credit_records", ["case_id"])


def downgrade():
    op.drop_table("credit_records")
    op.drop_table("service_contracts")
