"""Which stored files belong only to tickets closed before an instant (LGPD retention).

Raw messages and attachments are content-addressed blobs (storage/blobs.py) that
several tickets may share: a file goes only when every ticket that names it
was closed before the cutoff. Takes the caller's session; never commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from storage.models import AttachmentRow, MessageRow, ReceiptRow, TicketRow


@dataclass(frozen=True)
class StoredFile:
    """One blob a ticket names: its raw mail or one attachment."""

    sha256: str
    kind: str  # "raw" or "attachment"
    ticket: int
    name: str  # the attachment's filename, or the message's Message-ID


class RetentionIndex:
    def __init__(self, session: Session) -> None:
        self.session = session

    def _files(self, tickets: Select[int]) -> list[StoredFile]:
        raw = self.session.execute(
            select(MessageRow.raw_sha256, MessageRow.ticket_id, MessageRow.message_id).where(
                MessageRow.ticket_id.in_(tickets), MessageRow.raw_sha256.is_not(None)
            )
        ).all()
        receipts = self.session.execute(
            select(ReceiptRow.raw_sha256, ReceiptRow.ticket_id, ReceiptRow.message_id).where(
                ReceiptRow.ticket_id.in_(tickets)
            )
        ).all()
        attachments = self.session.execute(
            select(AttachmentRow.sha256, MessageRow.ticket_id, AttachmentRow.filename)
            .join(MessageRow, AttachmentRow.message_row_id == MessageRow.id)
            .where(MessageRow.ticket_id.in_(tickets))
        ).all()
        found = {
            StoredFile(str(sha), "raw", int(ticket), str(name or ""))
            for sha, ticket, name in [*raw, *receipts]
            if ticket is not None
        }
        found |= {StoredFile(str(sha), "attachment", int(t), str(n)) for sha, t, n in attachments}
        return sorted(found, key=lambda f: (f.ticket, f.kind, f.name, f.sha256))

    def closed_before(self, cutoff: datetime) -> list[StoredFile]:
        """The files of tickets closed before `cutoff` that no other ticket names."""
        expired = select(TicketRow.id).where(
            TicketRow.status == "closed", TicketRow.status_since < cutoff
        )
        kept = select(TicketRow.id).where(TicketRow.id.not_in(expired))
        still_named = {f.sha256 for f in self._files(kept)}
        return [f for f in self._files(expired) if f.sha256 not in still_named]
