"""Rows to domain values: the one mapping of each table, shared by every repository.

Repositories (tickets, receipts, outbox, lifecycle) read rows and hand out
these values; nothing else reads a row's columns, so a column's meaning is
decided here once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from gateway.domain import (
    AttachmentRecord,
    Direction,
    EventRecord,
    MessageRecord,
    Outcome,
    Priority,
    ReceiptRecord,
    TicketRecord,
    TicketRef,
    TicketStatus,
    Visibility,
)
from gateway.domain.flood import (
    Hold,
    HoldSource,
    QuarantineCause,
    QuarantinedMail,
    QuarantineState,
)
from storage.models import (
    EventRow,
    FlowHoldRow,
    MessageRow,
    QuarantineRow,
    ReceiptRow,
    SurveyRow,
    TicketRow,
    TimerRow,
)


def ticket_record(row: TicketRow) -> TicketRecord:
    return TicketRecord(
        ref=TicketRef(row.id),
        subject=row.subject,
        status=TicketStatus(row.status),
        priority=Priority(row.priority),
        category=row.category,
        environment=row.environment,
        queue=row.queue,
        requester=row.requester,
        requester_name=row.requester_name,
        organization=row.organization_id,
        assignee=row.assignee,
        tags=tuple(row.tags or ()),
        followers=tuple(row.followers or ()),
        created_at=row.created_at,
        updated_at=row.updated_at,
        first_response_due=row.first_response_due,
        resolution_due=row.resolution_due,
        next_response_due=row.next_response_due,
        status_since=row.status_since or row.updated_at,
        first_responded_at=row.first_responded_at,
        awaiting_since=row.awaiting_since,
        paused_at=row.sla_paused_at,
        paused=timedelta(seconds=row.sla_paused_seconds or 0),
        linked_from=TicketRef(row.linked_from) if row.linked_from else None,
        due_at=row.due_at,
        outcome=row.outcome,
        paused_elapsed=timedelta(seconds=row.sla_paused_elapsed_seconds or 0),
    )


def message_record(row: MessageRow) -> MessageRecord:
    return MessageRecord(
        message_id=row.message_id,
        direction=Direction(row.direction),
        visibility=Visibility(row.visibility),
        sender=row.sender,
        recipients=tuple(row.recipients),
        subject=row.subject,
        body=row.body,
        attachments=tuple(
            AttachmentRecord(a.filename, a.content_type, a.size, a.sha256) for a in row.attachments
        ),
        created_at=row.created_at,
    )


def event_record(row: EventRow) -> EventRecord:
    return EventRecord(row.at, row.actor, row.kind, dict(row.data))


def receipt_record(row: ReceiptRow) -> ReceiptRecord:
    return ReceiptRecord(
        message_id=row.message_id,
        raw_sha256=row.raw_sha256,
        outcome=Outcome(row.outcome),
        ticket=TicketRef(row.ticket_id) if row.ticket_id else None,
        received_at=row.received_at,
    )


@dataclass(frozen=True)
class TimerRecord:
    """One lifecycle timer: what fires, when, and whether it has (pending, fired, cancelled)."""

    id: int
    ref: TicketRef
    kind: str
    key: str
    due: datetime
    sla: str | None
    level: int
    state: str


def timer_record(row: TimerRow) -> TimerRecord:
    return TimerRecord(
        row.id, TicketRef(row.ticket_id), row.kind, row.key, row.due_at, row.sla, row.level,
        row.state,
    )  # fmt: skip


@dataclass(frozen=True)
class SurveyRecord:
    id: int
    ref: TicketRef
    agent: str | None
    queue: str | None
    sent_at: datetime
    rating: int | None
    met_expectation: bool | None
    comment: str
    answered_at: datetime | None
    channel: str | None


def survey_record(row: SurveyRow) -> SurveyRecord:
    return SurveyRecord(
        id=row.id,
        ref=TicketRef(row.ticket_id),
        agent=row.agent,
        queue=row.queue,
        sent_at=row.sent_at,
        rating=row.rating,
        met_expectation=row.met_expectation,
        comment=row.comment,
        answered_at=row.answered_at,
        channel=row.channel,
    )


def quarantined_mail(row: QuarantineRow) -> QuarantinedMail:
    return QuarantinedMail(
        id=row.id,
        held_at=row.held_at,
        state=QuarantineState(row.state),
        cause=QuarantineCause(row.cause),
        reason=row.reason,
        sender=row.sender,
        subject=row.subject,
        message_id=row.message_id,
        raw_sha256=row.raw_sha256,
        size=row.size,
        dedup_key=row.dedup_key,
        channel=row.channel,
        mail_from=row.mail_from,
        rcpt_tos=tuple(row.rcpt_tos or ()),
        ticket=str(TicketRef(row.ticket_id)) if row.ticket_id else None,
        settled_at=row.settled_at,
        settled_by=row.settled_by,
        settled_outcome=row.settled_outcome,
    )


def hold_record(row: FlowHoldRow) -> Hold:
    return Hold(HoldSource(row.source), row.key, row.reason, row.until)
