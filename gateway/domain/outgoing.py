"""Mail on its way out: composed and queued, then claimed by a worker."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from gateway.domain.tickets import TicketRef


class MailKind(StrEnum):
    ACKNOWLEDGEMENT = "acknowledgement"
    REJECTION = "rejection"
    ADMIN_ALERT = "admin_alert"
    # The lifecycle's mail (gateway/lifecycle/customer_mail.py, notices.py).
    STATUS = "status"
    REMINDER = "reminder"
    SURVEY = "survey"
    SLA_NOTICE = "sla_notice"
    ESCALATION_NOTICE = "escalation_notice"  # a customer's escalation, to the direction
    AGENT_NOTIFICATION = "agent_notification"
    AGENT_REPLY = "agent_reply"


@dataclass(frozen=True)
class OutgoingMail:
    """A fully composed mail, queued in the same transaction as its cause."""

    kind: MailKind
    message_id: str
    mail_from: str
    recipients: tuple[str, ...]
    content: bytes = field(repr=False)
    ticket: TicketRef | None = None


@dataclass(frozen=True)
class ClaimedMail:
    """An outbox entry one worker has claimed and now hands to the relay."""

    outbox_id: int
    message_id: str
    mail_from: str
    recipients: tuple[str, ...]
    content: bytes = field(repr=False)
    attempts: int = 0
