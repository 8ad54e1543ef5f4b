"""Repository for the ticket lifecycle: SLA clock fields, timers and surveys.

Like storage/repository.py it takes the caller's session and never commits.
Timers are rows keyed `(ticket_id, key)`: a sweep claims a due row (with
`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite serializes writers) and marks
it fired in the same transaction as the mail it causes, so a timer fires once
however many sweeps run. Due-time queries use the `(state, due_at)` index.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.orm import Session

from gateway.domain import MailKind, TicketRecord, TicketRef, TicketStatus
from storage.held import ticket_row
from storage.models import (
    EventRow,
    MessageRow,
    OutboxRow,
    SurveyRow,
    TicketRow,
    TimerRow,
    table_of,
)
from storage.records import (
    SurveyRecord,
    TimerRecord,
    survey_record,
    ticket_record,
    timer_record,
)

_NEW_TIMERS = insert(table_of(TimerRow)).inline()
_TIMERS_OF = select(TimerRow).where(TimerRow.ticket_id == bindparam("ticket"))

# The gateway's own mail to customers: left out of the history people wrote.
AUTOMATIC_KINDS = tuple(
    kind.value
    for kind in (
        MailKind.ACKNOWLEDGEMENT,
        MailKind.REJECTION,
        MailKind.ADMIN_ALERT,
        MailKind.STATUS,
        MailKind.REMINDER,
        MailKind.SURVEY,
        MailKind.SLA_NOTICE,
    )
)


@dataclass(frozen=True)
class WantedTimer:
    kind: str
    key: str
    due: datetime
    sla: str | None = None
    level: int = 0


class LifecycleStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    # --- the SLA clock ------------------------------------------------------------------

    def _ticket(self, ref: TicketRef) -> TicketRow:
        row = ticket_row(self.session, ref.number)
        if row is None:
            raise LookupError(f"no ticket {ref}")
        return row

    def clock(self, ref: TicketRef, *, lock: bool = False) -> TicketRecord:
        if lock:
            row = self.session.scalars(
                select(TicketRow).where(TicketRow.id == ref.number).with_for_update()
            ).one()
        else:
            row = self._ticket(ref)
        return ticket_record(row)

    def save_clock(
        self,
        ref: TicketRef,
        *,
        status: TicketStatus,
        status_since: datetime,
        first_responded_at: datetime | None,
        awaiting_since: datetime | None,
        paused_at: datetime | None,
        paused: timedelta,
        paused_elapsed: timedelta = timedelta(0),
        first_response_due: datetime | None,
        next_response_due: datetime | None,
        resolution_due: datetime | None,
        now: datetime,
    ) -> TicketStatus:
        """Write the clock; returns the previous status."""
        row = self._ticket(ref)
        previous = TicketStatus(row.status)
        if previous is not status:
            row.updated_at = now
        row.status = status.value
        row.status_since = status_since
        row.first_responded_at = first_responded_at
        row.awaiting_since = awaiting_since
        row.sla_paused_at = paused_at
        row.sla_paused_seconds = int(paused.total_seconds())
        row.sla_paused_elapsed_seconds = int(paused_elapsed.total_seconds())
        row.first_response_due = first_response_due
        row.next_response_due = next_response_due
        row.resolution_due = resolution_due
        return previous

    def link(self, ref: TicketRef, linked_from: TicketRef) -> None:
        self._ticket(ref).linked_from = linked_from.number

    def public_history(self, ref: TicketRef, limit: int = 5) -> list[tuple[datetime, str, str]]:
        """(at, direction, body) of the last public messages people wrote, oldest first
        (the gateway's own acknowledgements and notices are left out)."""
        automatic = select(OutboxRow.message_id).where(
            OutboxRow.ticket_id == ref.number, OutboxRow.kind.in_(AUTOMATIC_KINDS)
        )
        rows = self.session.execute(
            select(MessageRow.created_at, MessageRow.direction, MessageRow.body)
            .where(
                MessageRow.ticket_id == ref.number,
                MessageRow.visibility == "public",
                MessageRow.message_id.not_in(automatic),
            )
            .order_by(MessageRow.id.desc())
            .limit(limit)
        ).all()
        return [(at, direction, body) for at, direction, body in reversed(rows)]

    def last_event_at(self, ref: TicketRef, kind: str) -> datetime | None:
        """When the ticket's newest event of `kind` happened (a rate limit's memory)."""
        return self.session.scalar(
            select(EventRow.at)
            .where(EventRow.ticket_id == ref.number, EventRow.kind == kind)
            .order_by(EventRow.id.desc())
            .limit(1)
        )

    # --- timers ------------------------------------------------------------------------

    def sync_timers(
        self, ref: TicketRef, wanted: Sequence[WantedTimer], now: datetime, *, fresh: bool = False
    ) -> None:
        """Make the ticket's pending timers exactly `wanted`; fired ones are never redone.
        `fresh`: the ticket was created in this transaction, so it has none to read."""
        rows: dict[str, TimerRow] = {}
        if not fresh:
            found = self.session.scalars(_TIMERS_OF, {"ticket": ref.number})
            rows = {row.key: row for row in found}
        keys = {w.key for w in wanted}
        for key, row in rows.items():
            if row.state == "pending" and key not in keys:
                row.state = "cancelled"
        new = []
        for want in wanted:
            existing = rows.get(want.key)
            if existing is None:
                new.append(
                    {
                        "ticket_id": ref.number,
                        "kind": want.kind,
                        "key": want.key,
                        "due_at": want.due,
                        "state": "pending",
                        "sla": want.sla,
                        "level": want.level,
                        "created_at": now,
                    }
                )
            elif existing.state in ("pending", "cancelled"):
                # Set only when it changes: an unchanged row left clean costs the flush nothing.
                if existing.state != "pending":
                    existing.state = "pending"
                if existing.due_at != want.due:
                    existing.due_at = want.due
        if new:
            # One executemany for a new ticket's timers, not one INSERT (and id read) each,
            # in Core on the session's connection: nothing pending needs flushing first.
            self.session.connection().execute(_NEW_TIMERS, new)

    def due_timer_ids(self, now: datetime, limit: int) -> list[int]:
        """Pending timers due at `now`, earliest first (the `(state, due_at)` index)."""
        return list(
            self.session.scalars(
                select(TimerRow.id)
                .where(TimerRow.state == "pending", TimerRow.due_at <= now)
                .order_by(TimerRow.due_at, TimerRow.id)
                .limit(limit)
            )
        )

    def claim_timer(self, timer_id: int, now: datetime, *, skip_locked: bool) -> TimerRecord | None:
        """Mark a due timer fired, or None if another sweep already took it."""
        query = select(TimerRow).where(
            TimerRow.id == timer_id, TimerRow.state == "pending", TimerRow.due_at <= now
        )
        if skip_locked:
            query = query.with_for_update(skip_locked=True)
        row = self.session.scalars(query).one_or_none()
        if row is None:
            return None
        row.state = "fired"
        row.fired_at = now
        return timer_record(row)

    def timers(self, ref: TicketRef) -> list[TimerRecord]:
        """Every timer of a ticket, earliest first, for `scheduler timers` and tests."""
        rows = self.session.scalars(
            select(TimerRow).where(TimerRow.ticket_id == ref.number).order_by(TimerRow.due_at)
        )
        return [timer_record(r) for r in rows]

    # --- surveys -----------------------------------------------------------------------

    def create_survey(
        self, ref: TicketRef, *, agent: str | None, queue: str | None, now: datetime
    ) -> int:
        row = SurveyRow(ticket_id=ref.number, agent=agent, queue=queue, sent_at=now, comment="")
        self.session.add(row)
        self.session.flush()
        return row.id

    def survey(self, survey_id: int, *, lock: bool = False) -> SurveyRecord | None:
        query = select(SurveyRow).where(SurveyRow.id == survey_id)
        if lock:
            query = query.with_for_update()
        row = self.session.scalars(query).one_or_none()
        return survey_record(row) if row else None

    def latest_survey(self, ref: TicketRef) -> SurveyRecord | None:
        row = self.session.scalars(
            select(SurveyRow).where(SurveyRow.ticket_id == ref.number).order_by(SurveyRow.id.desc())
        ).first()
        return survey_record(row) if row else None

    def answer_survey(
        self,
        survey_id: int,
        *,
        rating: int | None,
        met_expectation: bool | None,
        comment: str | None,
        channel: str,
        now: datetime,
    ) -> SurveyRecord:
        """Record what was answered; questions left out keep their earlier answer."""
        row = self.session.get(SurveyRow, survey_id)
        if row is None:
            raise LookupError(f"no survey {survey_id}")
        if rating is not None:
            row.rating = rating
        if met_expectation is not None:
            row.met_expectation = met_expectation
        if comment:
            row.comment = comment[:4000]
        row.answered_at = now
        row.channel = channel
        self.session.flush()
        return survey_record(row)

    def survey_rows(self, since: datetime | None, until: datetime | None) -> list[dict[str, Any]]:
        """Every survey sent in [since, until) with its answers, for the report."""
        # Months are formatted in Python: portable across SQLite and PostgreSQL.
        query = select(SurveyRow)
        if since is not None:
            query = query.where(SurveyRow.sent_at >= since)
        if until is not None:
            query = query.where(SurveyRow.sent_at < until)
        return [
            {
                "month": row.sent_at.strftime("%Y-%m"),
                "queue": row.queue,
                "agent": row.agent,
                "answered": row.answered_at is not None,
                "rating": row.rating,
                "met_expectation": row.met_expectation,
            }
            for row in self.session.scalars(query.order_by(SurveyRow.sent_at))
        ]

    def fired_counts(self) -> dict[str, int]:
        """Timers fired since the store began, by kind (SLA breaches among them)."""
        rows = self.session.execute(
            select(TimerRow.kind, func.count(TimerRow.id))
            .where(TimerRow.state == "fired")
            .group_by(TimerRow.kind)
        ).all()
        return {kind: int(n) for kind, n in rows}
