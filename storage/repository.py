"""Repositories: the store's small surface, speaking domain values.

This module holds tickets with their threads and event log, and re-exports
the receipt ledger (storage/receipts.py) and the outbox (storage/outbox.py).

Each repository takes a session owned by the caller's use case and never
commits; the use case decides when its one transaction ends.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, func, insert, literal, select, union_all
from sqlalchemy.orm import Session, selectinload

from gateway.domain import (
    AttachmentPart,
    Direction,
    EventKind,
    EventRecord,
    MessageRecord,
    TicketRecord,
    TicketRef,
    TicketSnapshot,
    TicketStatus,
    Triage,
    Visibility,
    is_agent_actor,
)
from storage.fitting import fit
from storage.held import hold, ticket_row
from storage.models import (
    AttachmentRow,
    EventRow,
    MessageRow,
    OutboxRow,
    ReceiptRow,
    TicketRow,
    table_of,
)
from storage.outbox import Outbox
from storage.receipts import ReceiptLedger
from storage.records import (
    event_record,
    message_record,
    ticket_record,
)

_NEW_EVENT = insert(table_of(EventRow)).inline()  # inline: no RETURNING of the id
_NEW_MESSAGE = insert(table_of(MessageRow))  # its id is read back: the attachments name it
_NEW_ATTACHMENTS = insert(table_of(AttachmentRow)).inline()


def _thread_source(rank: int, column: Any, ticket: Any) -> Select[str, int, int]:
    return select(column, ticket, literal(rank)).where(
        column.in_(bindparam("wanted", expanding=True)), ticket.is_not(None)
    )


# The ticket of each of a thread's Message-IDs, in one query: our own mail (threaded
# messages and outbox: agent notifications) and every message we received for a ticket (an
# agent's earlier mail, say). `IN` matches no NULL and each source excludes a NULL ticket.
_THREAD_BY_MESSAGE_ID = union_all(
    _thread_source(0, MessageRow.message_id, MessageRow.ticket_id),
    _thread_source(1, OutboxRow.message_id, OutboxRow.ticket_id),
    _thread_source(2, ReceiptRow.message_id, ReceiptRow.ticket_id),
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
        return ticket_row(self.session, ref.number)

    def snapshot(self, ref: TicketRef) -> TicketSnapshot | None:
        row = self._row(ref)
        return ticket_record(row).snapshot() if row else None

    def ref_for_message_ids(self, message_ids: Sequence[str]) -> TicketRef | None:
        """The ticket a thread of Message-IDs belongs to, nearest ID first."""
        if not message_ids:
            return None
        by_id: dict[str, int] = {}
        # Sorted by source: where one ID is found twice, the earlier source names the ticket.
        for mid, ticket_id, _ in sorted(
            self.session.execute(_THREAD_BY_MESSAGE_ID, {"wanted": list(message_ids)}).all(),
            key=lambda row: int(row[2]),
        ):
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
            subject=fit(subject, 998),
            status=TicketStatus.NEW.value,
            priority=int(triage.priority),
            category=triage.category,
            environment=triage.environment,
            queue=triage.queue,
            requester=fit(requester, 320),
            requester_name=fit(requester_name, 200),
            organization_id=organization_id,
            tags=list(triage.tags),
            assignee=assignee,
            followers=list(followers),
            created_at=now,
            updated_at=now,
            first_response_due=first_response_due,
            resolution_due=resolution_due,
            # Given here, not left to their server defaults: a column the database fills
            # is expired after the INSERT, and every later `get` would re-read the row.
            sla_paused_seconds=0,
            sla_paused_elapsed_seconds=0,
            # The clock as a new ticket starts it, given rather than left unset: the clock
            # writes these right after, and a column never set counts as changed (an
            # UPDATE of the row just inserted).
            status_since=now,
            first_responded_at=None,
            next_response_due=None,
            awaiting_since=None,
            sla_paused_at=None,
        )
        self.session.add(row)
        self.session.flush()
        return TicketRef(hold(self.session, row).id)

    def add_message(self, ref: TicketRef, message: NewMessage, now: datetime) -> None:
        """Written at once, in Core on the session's connection: the thread keeps the order
        its messages were added in, and the ORM has no rows to carry to its flush (the
        attachments name the message by the id its insert returns)."""
        connection = self.session.connection()
        inserted = connection.execute(
            _NEW_MESSAGE,
            {
                "ticket_id": ref.number,
                "message_id": fit(message.message_id, 998),
                "direction": message.direction.value,
                "visibility": message.visibility.value,
                "sender": fit(message.sender, 320),
                "recipients": list(message.recipients),
                "subject": fit(message.subject, 998),
                "body": message.body,
                "body_html": message.body_html,
                "raw_sha256": message.raw_sha256,
                "created_at": now,
            },
        )
        if message.attachments:
            key = inserted.inserted_primary_key
            assert key is not None  # a one-row insert's
            connection.execute(
                _NEW_ATTACHMENTS,
                [
                    {
                        "message_row_id": key[0],
                        "filename": fit(part.filename, 255),
                        "content_type": fit(part.content_type, 255),
                        "size": part.size,
                        "sha256": part.sha256,
                    }
                    for part in message.attachments
                ],
            )
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
        """Written at once, in Core on the session's connection: no one reads an event's
        id back, which the ORM would (one INSERT … RETURNING per event on SQLite), nor
        needs the pending rows flushed first (its ticket was, when it was created)."""
        self.session.connection().execute(
            _NEW_EVENT,
            {
                "ticket_id": ref.number if ref else None,
                "at": now,
                "actor": actor,
                "kind": event,
                "data": data,
            },
        )

    def fields_set_by_agents(self, ref: TicketRef) -> dict[str, str]:
        """{field: the agent who last set it}, from the `field_changed` events agents wrote:
        the fields whose value is an agent's decision, which rules on updates leave alone."""
        rows = self.session.execute(
            select(EventRow.actor, EventRow.data)
            .where(
                EventRow.ticket_id == ref.number,
                EventRow.kind == EventKind.FIELD_CHANGED.value,
            )
            .order_by(EventRow.id)
        ).all()
        return {
            str(data["field"]): actor
            for actor, data in rows
            if is_agent_actor(actor) and isinstance(data, dict) and "field" in data
        }

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


__all__ = ["NewMessage", "Outbox", "ReceiptLedger", "TicketRepository", "fit"]
