"""quarantine: the attachment files a held mail stored

A held mail's attachments are written to the blob store when it arrives, before
it is judged; retention must know them to delete them with the mail once an
admin has released or dropped it long enough ago (LGPD). Mail held before this
revision lists none (its files stay, as before).

Revision ID: 0008_held_files
Revises: 0007_ticket_ids
Create Date: 2026-12-01 14:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_held_files"
down_revision = "0007_ticket_ids"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "quarantine", sa.Column("attachments", sa.JSON(), nullable=False, server_default="[]")
    )


def downgrade() -> None:
    op.drop_column("quarantine", "attachments")
