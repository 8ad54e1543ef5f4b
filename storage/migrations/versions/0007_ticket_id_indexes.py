"""outbox and receipts: an index on ticket_id

A reminder or status mail quotes the ticket's public history, which leaves out
the gateway's own mail by `outbox.ticket_id`: without an index every such mail
scanned the whole outbox, so a sweep's cost per fired timer grew with the store
(bench/scale.py). Retention lists a purged ticket's receipts the same way.

Revision ID: 0007_ticket_ids
Revises: 0006_receipts_mid
Create Date: 2026-12-01 10:40:00
"""

from alembic import op

revision = "0007_ticket_ids"
down_revision = "0006_receipts_mid"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(op.f("ix_outbox_ticket_id"), "outbox", ["ticket_id"])
    op.create_index(op.f("ix_receipts_ticket_id"), "receipts", ["ticket_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_receipts_ticket_id"), table_name="receipts")
    op.drop_index(op.f("ix_outbox_ticket_id"), table_name="outbox")
