"""performance indexes: users by organisation and role

Revision ID: 0009_performance_indexes
Revises: 0001

Found by the benchmarks (bench/RESULTS.md): a reminder looks up the users who may act on its
task by role and organisation; at province scale (a clerk per community, a supervisor per
street, a manager per compound) that was a scan of 30,000 users per reminder.
"""
from alembic import op

revision = "0009_performance_indexes"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_users_org_role", "users", ["org_code", "role"])


def downgrade():
    op.drop_index("ix_users_org_role", table_name="users")
