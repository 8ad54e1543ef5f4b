"""What became of one inbound message, and the one outcome decided without the pipeline:
bytes that cannot be parsed at all."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from gateway.domain import Outcome, ReceivedMail, TicketRef
from gateway.domain.flood import QuarantineCause
from storage.db import Database
from storage.flow import QuarantineStore
from storage.repository import ReceiptLedger

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Receipt:
    """What became of one inbound message; the `ingest --json` line."""

    message_id: str | None
    outcome: Outcome
    ticket: TicketRef | None
    reason: str = ""


def quarantine_unparseable(
    db: Database, now: datetime, size: int, raw_sha: str, channel: str, reason: str
) -> Receipt:
    """Bytes no parser can read are kept for the admins, once per content (their hash
    is their identity, having no Message-ID we could trust)."""
    mail = ReceivedMail.unparseable(raw_sha, size, channel)
    try:
        with db.transaction() as session:
            ledger = ReceiptLedger(session)
            if ledger.seen(mail.dedup_key):
                return Receipt(None, Outcome.DUPLICATE, None, "already received")
            ledger.record(mail, outcome=Outcome.QUARANTINED, reason=reason, ticket=None, now=now)
            QuarantineStore(session).hold(
                mail,
                cause=QuarantineCause.UNPARSEABLE,
                reason=reason,
                ticket_id=None,
                now=now,
            )
    except IntegrityError:
        return Receipt(None, Outcome.DUPLICATE, None, "already received")
    log.warning("%s message sha256:%s quarantined: %s", channel, raw_sha[:12], reason)
    return Receipt(None, Outcome.QUARANTINED, None, reason)
