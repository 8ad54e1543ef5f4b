"""Flood counting, cool-down holds and the quarantine: rows of issue 12's tables.

The sliding windows are counts of `flow_marks` rows newer than an instant, so
they survive a restart and are shared by every process on one database. Takes
the caller's session and never commits: marks, holds and held mail are written
in the transaction of the decision that caused them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, bindparam, delete, func, insert, select
from sqlalchemy.orm import Session

from gateway.domain import ReceivedMail
from gateway.domain.flood import (
    Counter,
    Hold,
    HoldSource,
    QuarantineCause,
    QuarantinedMail,
    QuarantineState,
)
from storage.fitting import fit
from storage.models import FlowHoldRow, FlowMarkRow, QuarantineRow, table_of
from storage.records import hold_record, quarantined_mail

_NEW_MARK = insert(table_of(FlowMarkRow)).inline()  # inline: no RETURNING of the id
# Built once, as every mail counts: building the comparisons costs more than the query.
_COUNT = select(func.count(FlowMarkRow.id)).where(
    FlowMarkRow.counter == bindparam("counter"),
    FlowMarkRow.key == bindparam("key"),
    FlowMarkRow.at > bindparam("since"),
    FlowMarkRow.at <= bindparam("until"),
)
# The holds of some sources and keys (a few rows at most; the caller keeps its own pairs).
_HOLDS_OF = select(FlowHoldRow).where(
    FlowHoldRow.source.in_(bindparam("sources", expanding=True)),
    FlowHoldRow.key.in_(bindparam("keys", expanding=True)),
)


class FlowLedger:
    """Counted marks and the holds they cause."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def count(self, counter: Counter, key: str, since: datetime, until: datetime) -> int:
        """How many marks of `counter` for `key` fall in (since, until] (bounded on both
        sides, so a clock set in the past, as `scheduler run-once --now` does, counts
        only what came before it)."""
        found = self.session.scalar(
            _COUNT, {"counter": counter.value, "key": fit(key, 400), "since": since, "until": until}
        )
        return int(found or 0)

    def mark(self, marks: Iterable[tuple[Counter, str]], at: datetime) -> None:
        """Write `marks` at once: one Core insert on the session's connection, as no one
        needs their ids back (the ORM would insert them one by one to learn each id) nor
        the pending rows flushed first."""
        rows = [{"counter": c.value, "key": fit(key, 400), "at": at} for c, key in marks]
        if rows:
            self.session.connection().execute(_NEW_MARK, rows)

    def prune(self, before: datetime) -> int:
        """Forget marks older than every window (run by the sweeper, not by intake)."""
        result = self.session.execute(delete(FlowMarkRow).where(FlowMarkRow.at < before))
        return int(getattr(result, "rowcount", 0) or 0)

    def active_hold(self, sources: Sequence[tuple[HoldSource, str]], now: datetime) -> Hold | None:
        """The first of `sources` (what, key) cooling down at `now`, all asked in one query."""
        wanted = [(source.value, fit(key, 400)) for source, key in sources]
        rows = self.session.scalars(
            _HOLDS_OF,
            {"sources": [source for source, _ in wanted], "keys": [key for _, key in wanted]},
        )
        cooling = {(row.source, row.key): row for row in rows if row.until > now}
        found = next((cooling[pair] for pair in wanted if pair in cooling), None)
        return hold_record(found) if found else None

    def _hold_row(self, source: HoldSource, key: str) -> FlowHoldRow | None:
        return self.session.scalar(
            select(FlowHoldRow).where(
                FlowHoldRow.source == source.value, FlowHoldRow.key == fit(key, 400)
            )
        )

    def start_hold(
        self, source: HoldSource, key: str, reason: str, now: datetime, cool_down: timedelta
    ) -> bool:
        """Hold `source` until `now + cool_down`; True when the admins should be told
        (a new hold, or the last alert is older than one cool-down)."""
        row = self._hold_row(source, key)
        if row is None:
            row = FlowHoldRow(source=source.value, key=fit(key, 400), started_at=now)
            self.session.add(row)
        elif row.until <= now:
            row.started_at = now
        row.reason = reason
        row.until = now + cool_down
        tell = row.alerted_at is None or row.alerted_at <= now - cool_down
        if tell:
            row.alerted_at = now
        self.session.flush()
        return tell

    def holds(self, now: datetime) -> list[Hold]:
        rows = self.session.scalars(
            select(FlowHoldRow).where(FlowHoldRow.until > now).order_by(FlowHoldRow.until)
        )
        return [hold_record(row) for row in rows]


class QuarantineStore:
    """Held mail, listed, shown and settled (released or dropped) by the admins."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def hold(
        self,
        mail: ReceivedMail,
        *,
        cause: QuarantineCause,
        reason: str,
        ticket_id: int | None,
        now: datetime,
        attachments: Sequence[str] = (),
    ) -> int:
        row = QuarantineRow(
            dedup_key=fit(mail.dedup_key, 1000),
            message_id=fit(mail.message_id, 998) if mail.message_id else None,
            raw_sha256=mail.raw_sha256,
            size=mail.size,
            sender=fit(mail.sender, 320),
            subject=fit(mail.subject, 998),
            mail_from=fit(mail.mail_from, 320) if mail.mail_from else None,
            rcpt_tos=list(mail.rcpt_tos),
            channel=mail.channel,
            attachments=list(attachments),
            cause=cause.value,
            reason=reason,
            ticket_id=ticket_id,
            held_at=now,
            state=QuarantineState.HELD.value,
        )
        self.session.add(row)
        self.session.flush()
        return row.id

    def list(self, state: QuarantineState | None = None, limit: int = 200) -> list[QuarantinedMail]:
        query = select(QuarantineRow).order_by(QuarantineRow.id.desc()).limit(limit)
        if state is not None:
            query = query.where(QuarantineRow.state == state.value)
        return [quarantined_mail(row) for row in reversed(list(self.session.scalars(query)))]

    def get(self, held_id: int, *, for_update: bool = False) -> QuarantinedMail | None:
        query = select(QuarantineRow).where(QuarantineRow.id == held_id)
        if for_update:
            query = query.with_for_update()
        row = self.session.scalar(query)
        return quarantined_mail(row) if row else None

    def still_held(self, held_id: int) -> QuarantinedMail:
        """The held mail, row-locked until the transaction ends, so that a release and a
        drop at once cannot both settle it. LookupError if there is none, ValueError if
        it was already released or dropped."""
        held = self.get(held_id, for_update=True)
        if held is None:
            raise LookupError(f"no held mail #{held_id}")
        if held.state is not QuarantineState.HELD:
            raise ValueError(f"mail #{held_id} was already {held.state.value}")
        return held

    def settle(
        self,
        held_id: int,
        state: QuarantineState,
        now: datetime,
        *,
        by: str,
        outcome: str | None = None,
    ) -> None:
        row = self.session.get(QuarantineRow, held_id)
        assert row is not None
        row.state = state.value
        row.settled_at = now
        row.settled_by = fit(by, 320)
        row.settled_outcome = outcome

    def count_held(self) -> int:
        found = self.session.scalar(
            select(func.count(QuarantineRow.id)).where(
                QuarantineRow.state == QuarantineState.HELD.value
            )
        )
        return int(found or 0)

    @staticmethod
    def settled_before(cutoff: datetime) -> ColumnElement[bool]:
        """Held mail an admin released or dropped before `cutoff`: past retention, its row
        goes (storage/retention.py says which of their files go too); a mail still held
        stays, waiting for an admin."""
        return and_(
            QuarantineRow.state != QuarantineState.HELD.value,
            QuarantineRow.settled_at.is_not(None),
            QuarantineRow.settled_at < cutoff,
        )

    def count_settled_before(self, cutoff: datetime) -> int:
        found = self.session.scalar(
            select(func.count(QuarantineRow.id)).where(self.settled_before(cutoff))
        )
        return int(found or 0)

    def forget_settled_before(self, cutoff: datetime) -> int:
        """Deletes the rows `settled_before` selects; returns how many."""
        gone = self.session.connection().execute(
            delete(QuarantineRow).where(self.settled_before(cutoff))
        )
        return int(gone.rowcount)
