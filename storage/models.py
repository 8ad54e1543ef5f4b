"""SQLAlchemy 2.x typed models: the durable shape of tickets, mail and the outbox.

Only `storage` knows these rows; other packages see domain values. Types are
portable (SQLite embedded, PostgreSQL in production): JSON lists, timezone-
aware timestamps stored as UTC, no database-specific column types.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage.columns import CleanJSON, CleanString, CleanText

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps always come back timezone-aware in UTC, on SQLite too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; pass an aware one")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def table_of(row: type[Base]) -> Table:
    """A mapped class's Core table, for inserts whose ids no one reads back (the ORM reads
    each row's id, which on SQLite means one INSERT per row)."""
    return Base.metadata.tables[row.__tablename__]


class TicketRow(Base):
    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject: Mapped[str] = mapped_column(CleanString(998))
    status: Mapped[str] = mapped_column(CleanString(32), index=True)
    priority: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(CleanString(64))
    environment: Mapped[str] = mapped_column(CleanString(32))
    queue: Mapped[str | None] = mapped_column(CleanString(64))
    requester: Mapped[str] = mapped_column(CleanString(320), index=True)
    requester_name: Mapped[str] = mapped_column(CleanString(200), default="")
    organization_id: Mapped[str | None] = mapped_column(CleanString(64))
    assignee: Mapped[str | None] = mapped_column(CleanString(320))
    tags: Mapped[list[str]] = mapped_column(CleanJSON, default=list)
    followers: Mapped[list[str]] = mapped_column(CleanJSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    first_response_due: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_due: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The SLA clock and status timers (migration 0002, gateway/lifecycle.py).
    next_response_due: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    awaiting_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sla_paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sla_paused_seconds: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The same pauses in calendar time, for 24×7 targets (policy durations like 12hc).
    sla_paused_elapsed_seconds: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    linked_from: Mapped[int | None] = mapped_column(Integer)
    # Set by agents (migration 0003): the resolution date agreed with the customer
    # (`#due`) and how the ticket ended (`#outcome`, an id of the policy's outcomes).
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(CleanString(64))

    messages: Mapped[list[MessageRow]] = relationship(
        back_populates="ticket", order_by="MessageRow.id"
    )


class MessageRow(Base):
    """One mail in a ticket's thread, inbound or outbound."""

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    message_id: Mapped[str] = mapped_column(CleanString(998), index=True)
    direction: Mapped[str] = mapped_column(CleanString(16))
    visibility: Mapped[str] = mapped_column(CleanString(16))
    sender: Mapped[str] = mapped_column(CleanString(320))
    recipients: Mapped[list[str]] = mapped_column(CleanJSON, default=list)
    subject: Mapped[str] = mapped_column(CleanString(998))
    body: Mapped[str] = mapped_column(CleanText)
    body_html: Mapped[str] = mapped_column(CleanText, default="")
    raw_sha256: Mapped[str | None] = mapped_column(CleanString(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    ticket: Mapped[TicketRow] = relationship(back_populates="messages")
    attachments: Mapped[list[AttachmentRow]] = relationship(order_by="AttachmentRow.id")


class AttachmentRow(Base):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_row_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    filename: Mapped[str] = mapped_column(CleanString(255))
    content_type: Mapped[str] = mapped_column(CleanString(255))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(CleanString(64))


class ReceiptRow(Base):
    """Every accepted inbound message and what was decided; the dedup ledger."""

    __tablename__ = "receipts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedup_key: Mapped[str] = mapped_column(CleanString(1000), unique=True)
    message_id: Mapped[str | None] = mapped_column(CleanString(998), index=True)
    raw_sha256: Mapped[str] = mapped_column(CleanString(64))
    size: Mapped[int] = mapped_column(Integer)
    sender: Mapped[str] = mapped_column(CleanString(320), default="")
    channel: Mapped[str] = mapped_column(CleanString(16))
    outcome: Mapped[str] = mapped_column(CleanString(16), index=True)
    reason: Mapped[str] = mapped_column(CleanText, default="")
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class OutboxRow(Base):
    """A composed mail waiting to be handed to the relay; written with its cause."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_kind_rcpt", "kind", "primary_recipient", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(CleanString(32))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    message_id: Mapped[str] = mapped_column(CleanString(998), unique=True)
    mail_from: Mapped[str] = mapped_column(CleanString(320))
    recipients: Mapped[list[str]] = mapped_column(CleanJSON)
    primary_recipient: Mapped[str] = mapped_column(CleanString(320))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(CleanString(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(CleanText, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class EventRow(Base):
    """Append-only log of what happened to a ticket, who did it and why."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(CleanString(320))
    kind: Mapped[str] = mapped_column(CleanString(64))
    data: Mapped[dict[str, Any]] = mapped_column(CleanJSON, default=dict)


class TimerRow(Base):
    """One pending, fired or cancelled lifecycle timer (reminder, auto-resolve, SLA...).

    `(ticket_id, key)` is unique: a timer occurrence exists once and fires once, so a
    sweep run twice or by two processes sends nothing twice.
    """

    __tablename__ = "timers"
    __table_args__ = (
        UniqueConstraint("ticket_id", "key", name="uq_timers_ticket_key"),
        Index("ix_timers_state_due", "state", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    kind: Mapped[str] = mapped_column(CleanString(32))
    key: Mapped[str] = mapped_column(CleanString(200))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(CleanString(16))  # pending, fired, cancelled
    sla: Mapped[str | None] = mapped_column(CleanString(32))
    level: Mapped[int] = mapped_column(Integer, default=0)
    fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SurveyRow(Base):
    """The satisfaction survey sent after a ticket closed (seed 002) and its answers."""

    __tablename__ = "surveys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    agent: Mapped[str | None] = mapped_column(CleanString(320))
    queue: Mapped[str | None] = mapped_column(CleanString(64))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    rating: Mapped[int | None] = mapped_column(Integer)
    met_expectation: Mapped[bool | None] = mapped_column(Boolean)
    comment: Mapped[str] = mapped_column(CleanText, default="")
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    channel: Mapped[str | None] = mapped_column(CleanString(16))


class FlowMarkRow(Base):
    """One counted thing (an inbound mail, a ticket opened, an automatic mail) at an
    instant: the sliding windows of the flood limits are counts over these rows, so a
    restart does not reset them (gateway/domain/flood.py)."""

    __tablename__ = "flow_marks"
    __table_args__ = (Index("ix_flow_marks_counter_key_at", "counter", "key", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    counter: Mapped[str] = mapped_column(CleanString(32))
    key: Mapped[str] = mapped_column(CleanString(400))
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class FlowHoldRow(Base):
    """A source (a sender, a ticket) cooling down after a loop, and when the admins were
    last told; one row per source, renewed when it trips again."""

    __tablename__ = "flow_holds"
    __table_args__ = (UniqueConstraint("source", "key", name="uq_flow_holds_source_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(CleanString(16))
    key: Mapped[str] = mapped_column(CleanString(400))
    reason: Mapped[str] = mapped_column(CleanText, default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    until: Mapped[datetime] = mapped_column(UTCDateTime)
    alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class QuarantineRow(Base):
    """A held mail: what an admin needs to judge it and to run it again (the raw bytes
    are in the blob store under `raw_sha256`, the envelope is here)."""

    __tablename__ = "quarantine"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedup_key: Mapped[str] = mapped_column(CleanString(1000), index=True)
    message_id: Mapped[str | None] = mapped_column(CleanString(998))
    raw_sha256: Mapped[str] = mapped_column(CleanString(64))
    size: Mapped[int] = mapped_column(Integer, default=0)
    sender: Mapped[str] = mapped_column(CleanString(320), default="")
    subject: Mapped[str] = mapped_column(CleanString(998), default="")
    mail_from: Mapped[str | None] = mapped_column(CleanString(320))
    rcpt_tos: Mapped[list[str]] = mapped_column(CleanJSON, default=list)
    channel: Mapped[str] = mapped_column(CleanString(16), default="")
    # The sha256 of each attachment file it stored on arrival: retention deletes them too.
    attachments: Mapped[list[str]] = mapped_column(CleanJSON, default=list, server_default="[]")
    cause: Mapped[str] = mapped_column(CleanString(16))
    reason: Mapped[str] = mapped_column(CleanText, default="")
    ticket_id: Mapped[int | None] = mapped_column(Integer)
    held_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(CleanString(16), index=True)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    settled_by: Mapped[str | None] = mapped_column(CleanString(320))
    settled_outcome: Mapped[str | None] = mapped_column(CleanString(16))
