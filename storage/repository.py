"""Repositories: the store's small surface, speaking domain values.

Each repository takes a session owned by the caller's use case and never
commits; the use case decides when its one transaction ends.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from gateway.domain import (
    AttachmentPart,
    ClaimedMail,
    Direction,
    EventRecord,
    MessageRecord,
    Outcome,
    OutgoingMail,
    ReceiptRecord,
    TicketRecord,
    TicketRef,
    TicketSnapshot,
    TicketStatus,
    Triage,
    Visibility,
)
from storage.models import (
    AttachmentRow,
    EventRow,
    MessageRow,
    OutboxRow,
    ReceiptRow,
    TicketRow,
)
from storage.records import (
    claimed_mail,
    event_record,
    message_record,
    receipt_record,
    ticket_record,
)


@dataclass(frozen=True)
class NewMessage:
    """A message to append to a ticket's thread."""

    message_id: str
    direction: Direction
    visibility: Visibility
    sender: str
    recipients: tuple[str, ...]
    subject: str
    body: str
    body_html: str = ""
    raw_sha256: str | None = None
    attachments: tuple[AttachmentPart, ...] = ()


class TicketRepository:
    """Tickets, their threads and their event log."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def _row(self, ref: TicketRef) -> TicketRow | None:
        return self.session.get(TicketRow, ref.number)

    def snapshot(self, ref: TicketRef) -> TicketSnapshot | None:
        row = self._row(ref)
        return ticket_record(row).snapshot() if row else None

    def ref_for_message_ids(self, message_ids: Sequence[str]) -> TicketRef | None:
        """The ticket a thread of Message-IDs belongs to, nearest ID first."""
        if not message_ids:
            return None
        wanted = list(message_ids)
        by_id: dict[str, int] = {}
        # Our own mail (threaded messages and outbox: agent notifications) and every
        # message we received for a ticket (an agent's earlier mail, say).
        for column, ticket in (
            (MessageRow.message_id, MessageRow.ticket_id),
            (OutboxRow.message_id, OutboxRow.ticket_id),
            (ReceiptRow.message_id, ReceiptRow.ticket_id),
        ):
            rows = self.session.execute(
                select(column, ticket).where(column.in_(wanted), ticket.is_not(None))
            ).all()
            for mid, ticket_id in rows:
                # Never None: `IN` matches no NULL and the query excludes a NULL ticket.
                if mid is not None and ticket_id is not None:
                    by_id.setdefault(mid, ticket_id)
        for mid in message_ids:
            if mid in by_id:
                return TicketRef(by_id[mid])
        return None

    def create(
        self,
        *,
        subject: str,
        requester: str,
        requester_name: str,
        organization_id: str | None,
        triage: Triage,
        now: datetime,
        first_response_due: datetime | None,
        resolution_due: datetime | None,
        assignee: str | None = None,
        followers: Sequence[str] = (),
    ) -> TicketRef:
        row = TicketRow(
            subject=_fit(subject, 998),
            status=TicketStatus.NEW.value,
            priority=int(triage.priority),
            category=triage.category,
            environment=triage.environment,
            queue=triage.queue,
            requester=_fit(requester, 320),
            requester_name=_fit(requester_name, 200),
            organization_id=organization_id,
            tags=list(triage.tags),
            assignee=assignee,
            followers=list(followers),
            created_at=now,
            updated_at=now,
            first_response_due=first_response_due,
            resolution_due=resolution_due,
        )
        self.session.add(row)
        self.session.flush()
        return TicketRef(row.id)

    def add_message(self, ref: TicketRef, message: NewMessage, now: datetime) -> None:
        row = MessageRow(
            ticket_id=ref.number,
            message_id=_fit(message.message_id, 998),
            direction=message.direction.value,
            visibility=message.visibility.value,
            sender=_fit(message.sender, 320),
            recipients=list(message.recipients),
            subject=_fit(message.subject, 998),
            body=message.body,
            body_html=message.body_html,
            raw_sha256=message.raw_sha256,
            created_at=now,
        )
        row.attachments = [
            AttachmentRow(
                filename=_fit(part.filename, 255),
                content_type=_fit(part.content_type, 255),
                size=part.size,
                sha256=part.sha256,
            )
            for part in message.attachments
        ]
        self.session.add(row)
        ticket = self._row(ref)
        if ticket is not None:
            ticket.updated_at = now

    def change_fields(
        self, ref: TicketRef, changes: dict[str, Any], now: datetime
    ) -> dict[str, tuple[Any, Any]]:
        """Set ticket fields; tags and followers are added to. Returns {field: (old, new)}."""
        row = self._require(ref)
        changed: dict[str, tuple[Any, Any]] = {}
        for name, value in changes.items():
            old = getattr(row, name)
            if name in ("tags", "followers"):
                value = list(dict.fromkeys([*(old or []), *value]))
            elif name == "priority":
                value = int(value)
            if value != old:
                setattr(row, name, value)
                changed[name] = (old, value)
        if changed:
            row.updated_at = now
        return changed

    def record_event(
        self, ref: TicketRef | None, event: str, actor: str, now: datetime, **data: Any
    ) -> None:
        self.session.add(
            EventRow(
                ticket_id=ref.number if ref else None, at=now, actor=actor, kind=event, data=data
            )
        )

    def _require(self, ref: TicketRef) -> TicketRow:
        row = self._row(ref)
        if row is None:
            raise LookupError(f"no ticket {ref}")
        return row

    def get(self, ref: TicketRef) -> TicketRecord | None:
        row = self._row(ref)
        return ticket_record(row) if row else None

    def list(
        self, *, status: TicketStatus | None = None, limit: int | None = None
    ) -> list[TicketRecord]:
        """Open work first: the earliest first-response due, then the oldest."""
        query = select(TicketRow)
        if status is not None:
            query = query.where(TicketRow.status == status.value)
        query = query.order_by(
            TicketRow.first_response_due.is_(None),
            TicketRow.first_response_due,
            TicketRow.id,
        ).limit(limit)
        return [ticket_record(row) for row in self.session.scalars(query)]

    def messages(self, ref: TicketRef) -> builtins.list[MessageRecord]:
        rows = self.session.scalars(
            select(MessageRow)
            .where(MessageRow.ticket_id == ref.number)
            .order_by(MessageRow.id)
            .options(selectinload(MessageRow.attachments))
        )
        return [message_record(row) for row in rows]

    def public_message_ids(self, ref: TicketRef, limit: int = 20) -> builtins.list[str]:
        """The customer-visible thread's Message-IDs, oldest first (for References)."""
        rows = self.session.scalars(
            select(MessageRow.message_id)
            .where(MessageRow.ticket_id == ref.number, MessageRow.visibility == "public")
            .order_by(MessageRow.id.desc())
            .limit(limit)
        )
        return list(reversed(list(rows)))

    def last_customer_message_id(self, ref: TicketRef) -> str | None:
        return self.session.scalar(
            select(MessageRow.message_id)
            .where(
                MessageRow.ticket_id == ref.number,
                MessageRow.visibility == "public",
                MessageRow.direction == "inbound",
            )
            .order_by(MessageRow.id.desc())
            .limit(1)
        )

    def count_by_status(self) -> dict[str, int]:
        rows = self.session.execute(
            select(TicketRow.status, func.count(TicketRow.id)).group_by(TicketRow.status)
        ).all()
        return {status: int(n) for status, n in rows}

    def initial_triage(self, ref: TicketRef) -> dict[str, Any]:
        """The triage a ticket was created with, from its `created` event."""
        data = self.session.scalar(
            select(EventRow.data)
            .where(EventRow.ticket_id == ref.number, EventRow.kind == "created")
            .limit(1)
        )
        return dict((data or {}).get("triage", {}))

    def events(self, ref: TicketRef) -> builtins.list[EventRecord]:
        rows = self.session.scalars(
            select(EventRow).where(EventRow.ticket_id == ref.number).order_by(EventRow.id)
        )
        return [event_record(row) for row in rows]


def _fit(text: str, limit: int) -> str:
    """Column-sized text (PostgreSQL enforces lengths); the raw mail keeps the whole."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ReceiptLedger:
    """What was received and decided, keyed for idempotent redelivery."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def seen(self, dedup_key: str) -> bool:
        found = self.session.scalar(select(ReceiptRow.id).where(ReceiptRow.dedup_key == dedup_key))
        return found is not None

    def outcome_of(self, dedup_key: str) -> ReceiptRecord | None:
        row = self.session.scalar(select(ReceiptRow).where(ReceiptRow.dedup_key == dedup_key))
        return receipt_record(row) if row else None

    def record(
        self,
        *,
        dedup_key: str,
        message_id: str | None,
        raw_sha256: str,
        size: int,
        sender: str,
        channel: str,
        outcome: Outcome,
        reason: str,
        ticket: TicketRef | None,
        now: datetime,
    ) -> None:
        self.session.add(
            ReceiptRow(
                dedup_key=dedup_key,
                message_id=_fit(message_id, 998) if message_id else None,
                raw_sha256=raw_sha256,
                size=size,
                sender=_fit(sender, 320),
                channel=channel,
                outcome=outcome.value,
                reason=reason,
                ticket_id=ticket.number if ticket else None,
                received_at=now,
            )
        )
        self.session.flush()

    def count_by_outcome(self) -> dict[str, int]:
        rows = self.session.execute(
            select(ReceiptRow.outcome, func.count(ReceiptRow.id)).group_by(ReceiptRow.outcome)
        ).all()
        return {outcome: int(n) for outcome, n in rows}

    def recent(self, limit: int) -> list[ReceiptRecord]:
        """The last `limit` receipts, oldest first."""
        rows = self.session.scalars(select(ReceiptRow).order_by(ReceiptRow.id.desc()).limit(limit))
        return [receipt_record(row) for row in reversed(list(rows))]


class Outbox:
    """Mail waiting for the relay; claimed with row locks so workers never share."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def enqueue(self, mail: OutgoingMail, now: datetime) -> None:
        self.session.add(
            OutboxRow(
                kind=mail.kind.value,
                ticket_id=mail.ticket.number if mail.ticket else None,
                message_id=mail.message_id,
                mail_from=mail.mail_from,
                recipients=list(mail.recipients),
                primary_recipient=mail.recipients[0].lower() if mail.recipients else "",
                content=mail.content,
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )

    def ticket_of(self, message_id: str) -> TicketRef | None:
        """The ticket of a mail we sent, by its Message-ID."""
        found = self.session.scalar(
            select(OutboxRow.ticket_id).where(OutboxRow.message_id == message_id)
        )
        return TicketRef(found) if found else None

    def count_sent_to(self, kind: str, recipient: str, since: datetime) -> int:
        """How many mails of `kind` were queued for `recipient` since an instant."""
        return int(
            self.session.scalar(
                select(func.count(OutboxRow.id)).where(
                    OutboxRow.kind == kind,
                    OutboxRow.primary_recipient == recipient.lower(),
                    OutboxRow.created_at >= since,
                )
            )
            or 0
        )

    def claim_due(
        self, now: datetime, *, limit: int, stale_after: timedelta, skip_locked: bool
    ) -> list[ClaimedMail]:
        """Claim due rows; a claim older than `stale_after` is a crashed worker's."""
        query = (
            select(OutboxRow)
            .where(
                or_(
                    (OutboxRow.status == "pending") & (OutboxRow.next_attempt_at <= now),
                    (OutboxRow.status == "sending") & (OutboxRow.claimed_at <= now - stale_after),
                )
            )
            .order_by(OutboxRow.next_attempt_at, OutboxRow.id)
            .limit(limit)
        )
        if skip_locked:
            query = query.with_for_update(skip_locked=True)
        claimed: list[ClaimedMail] = []
        for row in self.session.scalars(query):
            row.status = "sending"
            row.claimed_at = now
            row.attempts += 1
            claimed.append(claimed_mail(row))
        return claimed

    def _claimed(self, outbox_id: int, attempts: int) -> Any:
        """The row, only while this claim is still the latest (a stale one was taken over)."""
        return (
            update(OutboxRow)
            .where(OutboxRow.id == outbox_id)
            .where(OutboxRow.status == "sending", OutboxRow.attempts == attempts)
        )

    def mark_sent(self, outbox_id: int, attempts: int, now: datetime) -> None:
        self.session.execute(
            self._claimed(outbox_id, attempts).values(status="sent", sent_at=now, last_error="")
        )

    def mark_failed(
        self, outbox_id: int, attempts: int, error: str, *, retry_at: datetime | None
    ) -> None:
        """Schedule another try, or park the row as failed when `retry_at` is None."""
        values: dict[str, Any] = {"last_error": error[:2000], "claimed_at": None}
        if retry_at is None:
            values["status"] = "failed"
        else:
            values.update(status="pending", next_attempt_at=retry_at)
        self.session.execute(self._claimed(outbox_id, attempts).values(**values))

    def release_claims(self) -> int:
        """Put every `sending` row back in the queue (after a single-process crash)."""
        rows = list(self.session.scalars(select(OutboxRow).where(OutboxRow.status == "sending")))
        for row in rows:
            row.status = "pending"
            row.claimed_at = None
        return len(rows)

    def counts(self) -> dict[str, int]:
        rows = self.session.execute(
            select(OutboxRow.status, func.count(OutboxRow.id)).group_by(OutboxRow.status)
        ).all()
        return {status: int(n) for status, n in rows}
