"""Which stored files belong only to what retention lets go (LGPD): tickets closed, and
held mail released or dropped, before an instant.

Raw messages and attachments are content-addressed blobs (storage/blobs.py) that
several tickets, and held mail, may share: a file goes only when everything that names
it is past the cutoff; a mail still held keeps its bytes, an admin may yet release it.
Takes the caller's session; never commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, not_, select
from sqlalchemy.orm import Session

from storage.flow import QuarantineStore
from storage.models import AttachmentRow, MessageRow, QuarantineRow, ReceiptRow, TicketRow


@dataclass(frozen=True)
class StoredFile:
    """One blob a ticket names (its raw mail or one attachment), or a held mail's raw."""

    sha256: str
    kind: str  # "raw", "attachment" or "held" (a held mail's raw)
    ticket: int | None  # None for held mail
    name: str  # the attachment's filename, the message's Message-ID, or "#<held id>"


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

    def _held(self, where: ColumnElement[bool]) -> list[StoredFile]:
        """A held mail's raw bytes, and the attachment files it stored on arrival."""
        query = select(QuarantineRow.raw_sha256, QuarantineRow.attachments, QuarantineRow.id)
        rows = self.session.execute(query.where(where).order_by(QuarantineRow.id))
        return [
            StoredFile(str(sha), kind, None, f"#{held}")
            for raw, attachments, held in rows
            for sha, kind in [(raw, "held"), *((a, "attachment") for a in attachments or ())]
        ]

    def expired_before(self, cutoff: datetime) -> list[StoredFile]:
        """The files of tickets closed, and of held mail settled, before `cutoff` that
        nothing kept names (a younger ticket, a mail still held or settled since)."""
        expired = select(TicketRow.id).where(
            TicketRow.status == "closed", TicketRow.status_since < cutoff
        )
        kept = select(TicketRow.id).where(TicketRow.id.not_in(expired))
        settled = QuarantineStore.settled_before(cutoff)
        still_named = {f.sha256 for f in [*self._files(kept), *self._held(not_(settled))]}
        found = [*self._files(expired), *self._held(settled)]
        return [f for f in found if f.sha256 not in still_named]
