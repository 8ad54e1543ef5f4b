"""The outbox worker's port, backed by the database: short claim transactions.

A claim marks a hand of rows `sending` in its own transaction (row-locked with
SKIP LOCKED on PostgreSQL, so several gateway processes never claim the same
row); the send happens outside any transaction; each result is a second short
transaction (one commit per mail sent), which may also claim the next hand;
the worker runs it while the next mail is on the wire. Claims older than
`stale_after` belong to a crashed worker.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

from gateway.domain import ClaimedMail
from storage.db import Database
from storage.repository import Outbox

# The worker hands back a claim held for half of this before its send, so a send that
# keeps within the relay's 20-second timeout ends before its claim could look like a
# dead sender's (outbound/worker.py).
STALE_CLAIM = timedelta(seconds=60)


class DatabaseOutboxStore:
    def __init__(self, db: Database, stale_after: timedelta = STALE_CLAIM) -> None:
        self.db = db
        self.stale_after = stale_after

    def claim_due(
        self, now: datetime, limit: int, besides: Collection[int] = ()
    ) -> list[ClaimedMail]:
        with self.db.transaction() as session:
            return self._claim(Outbox(session), now, limit, besides)

    def mark_sent(self, mail: ClaimedMail, now: datetime) -> None:
        with self.db.transaction() as session:
            Outbox(session).mark_sent(mail.outbox_id, mail.attempts, now)

    def sent_then_claim(
        self, mail: ClaimedMail, now: datetime, limit: int, besides: Collection[int] = ()
    ) -> list[ClaimedMail]:
        with self.db.transaction() as session:
            outbox = Outbox(session)
            outbox.mark_sent(mail.outbox_id, mail.attempts, now)
            return self._claim(outbox, now, limit, besides)

    def _claim(
        self, outbox: Outbox, now: datetime, limit: int, besides: Collection[int]
    ) -> list[ClaimedMail]:
        return outbox.claim_due(
            now,
            limit=limit,
            stale_after=self.stale_after,
            skip_locked=self.db.is_postgres,
            besides=besides,
        )

    def mark_failed(self, mail: ClaimedMail, error: str, retry_at: datetime | None) -> None:
        with self.db.transaction() as session:
            Outbox(session).mark_failed(mail.outbox_id, mail.attempts, error, retry_at=retry_at)

    def release(self, mails: Sequence[ClaimedMail]) -> None:
        with self.db.transaction() as session:
            outbox = Outbox(session)
            for mail in mails:
                outbox.release_claim(mail.outbox_id, mail.attempts)

    def release_own_claims(self) -> int:
        """Return `sending` rows to the queue; only safe when no other process sends."""
        with self.db.transaction() as session:
            return Outbox(session).release_claims()
