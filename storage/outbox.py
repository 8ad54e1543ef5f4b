"""The outbox: mail waiting for the relay, written in its cause's transaction and
claimed by workers with row locks. Takes the caller's session; never commits."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, insert, or_, select, update
from sqlalchemy.orm import Session

from gateway.domain import ClaimedMail, OutgoingMail, TicketRef
from storage.models import OutboxRow, table_of


class Outbox:
    """Mail waiting for the relay; claimed with row locks so workers never share."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def enqueue(self, mail: OutgoingMail, now: datetime, status: str = "pending") -> None:
        """Queue `mail`; `status="suppressed"` keeps it, over a flood limit, never sent."""
        self.session.connection().execute(
            _QUEUE,
            {
                "kind": mail.kind.value,
                "ticket_id": mail.ticket.number if mail.ticket else None,
                "message_id": mail.message_id,
                "mail_from": mail.mail_from,
                "recipients": list(mail.recipients),
                "primary_recipient": mail.recipients[0].lower() if mail.recipients else "",
                "content": mail.content,
                "status": status,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
                "last_error": "",
            },
        )

    def ticket_of(self, message_id: str) -> TicketRef | None:
        """The ticket of a mail we sent, by its Message-ID."""
        found = self.session.scalar(
            select(OutboxRow.ticket_id).where(OutboxRow.message_id == message_id)
        )
        return TicketRef(found) if found else None

    def count_sent_to(self, kind: str, recipient: str, since: datetime) -> int:
        """How many mails of `kind` were queued for `recipient` since an instant."""
        found = self.session.scalar(
            _SENT_TO, {"kind": kind, "recipient": recipient.lower(), "since": since}
        )
        return int(found or 0)

    def claim_due(
        self,
        now: datetime,
        *,
        limit: int,
        stale_after: timedelta,
        skip_locked: bool,
        besides: Collection[int] = (),
    ) -> list[ClaimedMail]:
        """Claim due rows, earliest first; a claim older than `stale_after` is a crashed
        worker's, except `besides`, the caller's own claims (a slow send is not a crash).
        One UPDATE … RETURNING claims the whole hand."""
        rows = self.session.execute(
            _CLAIM_LOCKED if skip_locked else _CLAIM,
            {
                "now": now,
                "stale_before": now - stale_after,
                "limit": limit,
                "besides": list(besides),
            },
        ).all()
        return [
            ClaimedMail(
                outbox_id=row.id,
                message_id=row.message_id,
                mail_from=row.mail_from,
                recipients=tuple(row.recipients),
                content=row.content,
                attempts=row.attempts,
            )
            for row in sorted(rows, key=lambda row: (row.next_attempt_at, row.id))
        ]

    def mark_sent(self, outbox_id: int, attempts: int, now: datetime) -> None:
        self.session.execute(
            _SENT, {"outbox_id": outbox_id, "claim_attempts": attempts, "now": now}
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
        self.session.execute(
            update(_TABLE).where(_MINE).values(**values),
            {"outbox_id": outbox_id, "claim_attempts": attempts},
        )

    def release_claim(self, outbox_id: int, attempts: int) -> None:
        """Hand a claimed mail that was never sent back to the queue, as it was before the
        claim (a shutdown between the claim and the send)."""
        self.session.execute(
            update(_TABLE)
            .where(_MINE)
            .values(status="pending", claimed_at=None, attempts=attempts - 1),
            {"outbox_id": outbox_id, "claim_attempts": attempts},
        )

    def release_claims(self) -> int:
        """Put every `sending` row back in the queue (after a single-process crash); a claim
        the crash cut short counts as no attempt, as a claim handed back does not."""
        released = self.session.connection().execute(
            update(_TABLE)
            .where(_TABLE.c.status == "sending")
            .values(status="pending", claimed_at=None, attempts=_TABLE.c.attempts - 1)
        )
        return int(released.rowcount)

    def counts(self) -> dict[str, int]:
        rows = self.session.execute(
            select(OutboxRow.status, func.count(OutboxRow.id)).group_by(OutboxRow.status)
        ).all()
        return {status: int(n) for status, n in rows}

    def oldest_waiting_since(self) -> datetime | None:
        """When the oldest mail not yet handed to the relay was queued (None: none waits)."""
        return self.session.scalar(
            select(func.min(OutboxRow.created_at)).where(
                OutboxRow.status.in_(("pending", "sending"))
            )
        )

    def failing_counts(self) -> dict[str, int]:
        """Mail whose last try failed, by state: retrying (pending) or given up (failed)."""
        rows = self.session.execute(
            select(OutboxRow.status, func.count(OutboxRow.id))
            .where(OutboxRow.last_error != "")
            .group_by(OutboxRow.status)
        ).all()
        return {status: int(n) for status, n in rows}


# The statements of every mail, built once against the table (plain Core: no ORM unit of
# work, no statement built per call). Queued inline: no one reads the new row's id back.
# A claim is one UPDATE … RETURNING (SQLite ≥ 3.35, PostgreSQL), its subquery row-locked
# with SKIP LOCKED on PostgreSQL.
_TABLE = table_of(OutboxRow)
_QUEUE = insert(_TABLE).inline()
_SENT_TO = select(func.count(_TABLE.c.id)).where(
    _TABLE.c.kind == bindparam("kind"),
    _TABLE.c.primary_recipient == bindparam("recipient"),
    _TABLE.c.created_at >= bindparam("since"),
)


def _claim(skip_locked: bool) -> Any:
    due = (
        select(_TABLE.c.id)
        .where(
            or_(
                (_TABLE.c.status == "pending") & (_TABLE.c.next_attempt_at <= bindparam("now")),
                (_TABLE.c.status == "sending") & (_TABLE.c.claimed_at <= bindparam("stale_before")),
            ),
            _TABLE.c.id.not_in(bindparam("besides", expanding=True)),
        )
        .order_by(_TABLE.c.next_attempt_at, _TABLE.c.id)
        .limit(bindparam("limit"))
    )
    if skip_locked:
        due = due.with_for_update(skip_locked=True)
    return (
        update(_TABLE)
        .where(_TABLE.c.id.in_(due.scalar_subquery()))
        .values(status="sending", claimed_at=bindparam("now"), attempts=_TABLE.c.attempts + 1)
        .returning(
            _TABLE.c.id,
            _TABLE.c.message_id,
            _TABLE.c.mail_from,
            _TABLE.c.recipients,
            _TABLE.c.content,
            _TABLE.c.attempts,
            _TABLE.c.next_attempt_at,
        )
    )


_CLAIM, _CLAIM_LOCKED = _claim(skip_locked=False), _claim(skip_locked=True)
# The row, only while the caller's claim is still the latest (a stale one taken over is
# no longer the old claimer's to settle).
_MINE = (
    (_TABLE.c.id == bindparam("outbox_id"))
    & (_TABLE.c.status == "sending")
    & (_TABLE.c.attempts == bindparam("claim_attempts"))
)
_SENT = update(_TABLE).where(_MINE).values(status="sent", sent_at=bindparam("now"), last_error="")
