"""receipts: an index on message_id, for the thread lookup of every reply

Without it, `ref_for_message_ids` scanned every receipt per reply: 0.7 ms at
10,000 tickets, 8 ms at 100,000 (bench/scale.py), growing with the store.

Revision ID: 0006_receipts_mid
Revises: 0005_flow
Create Date: 2026-12-01 06:50:00
"""

from alembic import op

revision = "0006_receipts_mid"
down_revision = "0005_flow"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(op.f("ix_receipts_message_id"), "receipts", ["message_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_receipts_message_id"), table_name="receipts")
