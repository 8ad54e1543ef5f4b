"""flow marks (sliding-window counts), cool-down holds and the quarantine (issue 12)

Revision ID: 0005_flow
Revises: 0004
Create Date: 2026-12-01 06:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_flow"
down_revision = "0004"
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "flow_marks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("counter", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flow_marks")),
    )
    op.create_index("ix_flow_marks_counter_key_at", "flow_marks", ["counter", "key", "at"])
    op.create_index(op.f("ix_flow_marks_at"), "flow_marks", ["at"])
    op.create_table(
        "flow_holds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("started_at", UTC_TIME, nullable=False),
        sa.Column("until", UTC_TIME, nullable=False),
        sa.Column("alerted_at", UTC_TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flow_holds")),
        sa.UniqueConstraint("source", "key", name="uq_flow_holds_source_key"),
    )
    op.create_table(
        "quarantine",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedup_key", sa.String(length=1000), nullable=False),
        sa.Column("message_id", sa.String(length=998), nullable=True),
        sa.Column("raw_sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sender", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=998), nullable=False),
        sa.Column("mail_from", sa.String(length=320), nullable=True),
        sa.Column("rcpt_tos", sa.JSON(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("cause", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("held_at", UTC_TIME, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("settled_at", UTC_TIME, nullable=True),
        sa.Column("settled_by", sa.String(length=320), nullable=True),
        sa.Column("settled_outcome", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine")),
    )
    op.create_index(op.f("ix_quarantine_dedup_key"), "quarantine", ["dedup_key"])
    op.create_index(op.f("ix_quarantine_state"), "quarantine", ["state"])


def downgrade() -> None:
    op.drop_table("quarantine")
    op.drop_table("flow_holds")
    op.drop_index(op.f("ix_flow_marks_at"), table_name="flow_marks")
    op.drop_index("ix_flow_marks_counter_key_at", table_name="flow_marks")
    op.drop_table("flow_marks")
