"""What the pipeline's steps have learned about one message, as one immutable value."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.domain import (
    AuthorRole,
    AutomatedVerdict,
    CommandSheet,
    Contact,
    Organization,
    ParsedMessage,
    SenderAuth,
    ThreadMatch,
    TicketSnapshot,
    TriageOutcome,
)
from gateway.domain.flood import FlowReading


@dataclass(frozen=True)
class Assessment:
    """What the steps have learned so far about one message."""

    message: ParsedMessage
    dedup_key: str
    automated: AutomatedVerdict | None = None
    auth: SenderAuth = SenderAuth.UNKNOWN
    thread: ThreadMatch | None = None
    ticket: TicketSnapshot | None = None
    role: AuthorRole = AuthorRole.STRANGER
    organization: Organization | None = None
    contact: Contact | None = None
    may_open_tickets: bool = False
    new_text: str = ""
    history: str = ""  # the whole text when quoted history was cut from `new_text`
    triage: TriageOutcome | None = None
    commands: CommandSheet | None = None
    flow: FlowReading | None = None  # what it adds to the flood counts (flood.py)
