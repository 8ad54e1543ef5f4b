"""The receipt ledger: every message received and what was decided, keyed so a
redelivery is recognized (idempotent intake). Takes the caller's session; never commits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.orm import Session

from gateway.domain import Outcome, ReceiptRecord, ReceivedMail, TicketRef
from storage.fitting import fit
from storage.models import ReceiptRow, table_of
from storage.records import receipt_record

_NEW_RECEIPT = insert(table_of(ReceiptRow)).inline()
# Built once: every mail asks, and building the comparison costs more than the query.
_SEEN = select(ReceiptRow.id).where(ReceiptRow.dedup_key == bindparam("dedup_key"))


class ReceiptLedger:
    """What was received and decided, keyed for idempotent redelivery."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def seen(self, dedup_key: str) -> bool:
        found = self.session.scalar(_SEEN, {"dedup_key": dedup_key})
        return found is not None

    def outcome_of(self, dedup_key: str) -> ReceiptRecord | None:
        row = self.session.scalar(select(ReceiptRow).where(ReceiptRow.dedup_key == dedup_key))
        return receipt_record(row) if row else None

    def record(
        self,
        mail: ReceivedMail,
        *,
        outcome: Outcome,
        reason: str,
        ticket: TicketRef | None,
        now: datetime,
    ) -> None:
        """The receipt, inserted in Core (no one reads its id back), and then the decision's
        pending rows flushed: a refused write fails this message, not the next one."""
        self.session.connection().execute(
            _NEW_RECEIPT,
            {
                "dedup_key": mail.dedup_key,
                "message_id": fit(mail.message_id, 998) if mail.message_id else None,
                "raw_sha256": mail.raw_sha256,
                "size": mail.size,
                "sender": fit(mail.sender, 320),
                "channel": mail.channel,
                "outcome": outcome.value,
                "reason": reason,
                "ticket_id": ticket.number if ticket else None,
                "received_at": now,
            },
        )
        self.session.flush()

    def settle_again(
        self, dedup_key: str, *, outcome: Outcome, reason: str, ticket: TicketRef | None
    ) -> None:
        """A held mail an admin released was decided anew: its one receipt says so."""
        row = self.session.scalar(select(ReceiptRow).where(ReceiptRow.dedup_key == dedup_key))
        if row is None:
            return
        row.outcome = outcome.value
        row.reason = reason
        row.ticket_id = ticket.number if ticket else None

    def count_by_outcome(self) -> dict[str, int]:
        rows = self.session.execute(
            select(ReceiptRow.outcome, func.count(ReceiptRow.id)).group_by(ReceiptRow.outcome)
        ).all()
        return {outcome: int(n) for outcome, n in rows}

    def recent(self, limit: int) -> list[ReceiptRecord]:
        """The last `limit` receipts, oldest first."""
        rows = self.session.scalars(select(ReceiptRow).order_by(ReceiptRow.id.desc()).limit(limit))
        return [receipt_record(row) for row in reversed(list(rows))]
