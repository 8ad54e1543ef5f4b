"""The domain's plain values, shared by every package.

This module is the one place every package may import: it holds the words of
the domain (ticket status, priority, refs, the parsed message, the directory,
the decision) as frozen dataclasses and enums, and imports nothing of the
project. Nothing here touches the network, the disk or the clock.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum, IntEnum, StrEnum
from typing import Protocol


class Clock(Protocol):
    """Where "now" comes from; injected so time-dependent code is testable."""

    def now(self) -> datetime: ...


class TicketStatus(StrEnum):
    NEW = "new"
    OPEN = "open"
    WAITING_CUSTOMER = "waiting_customer"
    WAITING_THIRD_PARTY = "waiting_third_party"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Priority(IntEnum):
    """Urgency as the seeds define it: 0 is critical, 3 is normal."""

    CRITICAL = 0
    HIGH = 1
    MEDIUM = 2
    NORMAL = 3


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class Visibility(StrEnum):
    PUBLIC = "public"
    INTERNAL = "internal"


class Outcome(StrEnum):
    """What happened to one inbound message; part of the `ingest --json` contract."""

    CREATED = "created"
    THREADED = "threaded"
    REJECTED = "rejected"
    IGNORED = "ignored"
    QUARANTINED = "quarantined"
    DUPLICATE = "duplicate"
    BOUNCED = "bounced"


_REF_RE = re.compile(r"\bTG-(\d{1,12})\b", re.IGNORECASE)


@dataclass(frozen=True, order=True)
class TicketRef:
    """The public name of a ticket, e.g. ``TG-00042``; it is not a secret."""

    number: int

    def __str__(self) -> str:
        return f"TG-{self.number:05d}"

    @classmethod
    def parse(cls, text: str) -> TicketRef | None:
        match = _REF_RE.fullmatch(text.strip())
        return cls(int(match.group(1))) if match else None

    @classmethod
    def find_in_subject(cls, subject: str) -> TicketRef | None:
        """The ref of a ``[#TG-00042]`` tag anywhere in a subject."""
        match = re.search(r"\[#TG-(\d{1,12})\]", subject, re.IGNORECASE)
        return cls(int(match.group(1))) if match else None


@dataclass(frozen=True)
class EmailAddress:
    """One mailbox; the address is kept lower-cased for comparison."""

    address: str
    name: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "address", self.address.strip().lower())
        # A display name is one line of text: encoded CR/LF or controls would break
        # every header we write with it (RFC 5322 section 2.2).
        clean = "".join(ch if ch.isprintable() else " " for ch in self.name)
        object.__setattr__(self, "name", " ".join(clean.split()))

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]

    @property
    def local_part(self) -> str:
        return self.address.rpartition("@")[0]

    def __str__(self) -> str:
        return self.address


@dataclass(frozen=True)
class AttachmentPart:
    filename: str
    content_type: str
    content: bytes = field(repr=False)
    inline: bool = False

    @property
    def size(self) -> int:
        return len(self.content)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass(frozen=True)
class Envelope:
    """The SMTP envelope (RFC 5321), which may differ from the headers."""

    mail_from: str | None = None
    rcpt_tos: tuple[str, ...] = ()


@dataclass(frozen=True)
class ParsedMessage:
    """One inbound mail, parsed once and never mutated by the pipeline."""

    raw_sha256: str
    size: int
    message_id: str | None
    subject: str
    sender: EmailAddress | None
    to: tuple[EmailAddress, ...] = ()
    cc: tuple[EmailAddress, ...] = ()
    reply_to: tuple[EmailAddress, ...] = ()
    in_reply_to: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    date: datetime | None = None
    headers: tuple[tuple[str, str], ...] = ()
    content_type: str = "text/plain"
    text_body: str = ""
    html_body: str = ""
    attachments: tuple[AttachmentPart, ...] = ()
    envelope: Envelope = Envelope()
    defects: tuple[str, ...] = ()
    # For a delivery or read report: the Message-ID of the mail it reports on.
    reported_message_id: str | None = None

    def header(self, name: str) -> str | None:
        """The first value of a header, case-insensitively; None when absent."""
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return None

    def header_values(self, name: str) -> tuple[str, ...]:
        wanted = name.lower()
        return tuple(value for key, value in self.headers if key.lower() == wanted)

    @property
    def stored_id(self) -> str:
        """The Message-ID to file this mail under; one made from its bytes if it has none."""
        return self.message_id or f"<sha256.{self.raw_sha256}@ticketgate.invalid>"

    @property
    def recipients(self) -> tuple[str, ...]:
        """Where the mail was delivered: the envelope if known, else To and Cc."""
        if self.envelope.rcpt_tos:
            return tuple(r.lower() for r in self.envelope.rcpt_tos)
        return tuple(a.address for a in (*self.to, *self.cc))

    @property
    def thread_ids(self) -> tuple[str, ...]:
        """Message-IDs this mail answers, nearest first (RFC 5322 section 3.6.4)."""
        seen: list[str] = []
        for mid in (*self.in_reply_to, *reversed(self.references)):
            if mid not in seen:
                seen.append(mid)
        return tuple(seen)


# --- the directory of queues, agents, organizations and contacts ---------------


@dataclass(frozen=True)
class Queue:
    id: str
    name: str
    escalates_to: str | None = None


@dataclass(frozen=True)
class Agent:
    email: str
    name: str
    queues: tuple[str, ...] = ()


@dataclass(frozen=True)
class Contact:
    email: str
    name: str
    can_open_tickets: bool = False


@dataclass(frozen=True)
class Organization:
    id: str
    name: str
    domains: tuple[str, ...] = ()
    contacts: tuple[Contact, ...] = ()


@dataclass(frozen=True)
class Directory:
    """Who may talk to support: queues, agents, and customer organizations."""

    queues: tuple[Queue, ...] = ()
    agents: tuple[Agent, ...] = ()
    organizations: tuple[Organization, ...] = ()

    def agent(self, email: str) -> Agent | None:
        email = email.lower()
        return next((a for a in self.agents if a.email.lower() == email), None)

    def contact(self, email: str) -> tuple[Organization, Contact] | None:
        email = email.lower()
        for org in self.organizations:
            for contact in org.contacts:
                if contact.email.lower() == email:
                    return org, contact
        return None

    def organization(self, org_id: str | None) -> Organization | None:
        return next((o for o in self.organizations if o.id == org_id), None)

    def queue(self, queue_id: str) -> Queue | None:
        return next((q for q in self.queues if q.id == queue_id), None)

    @property
    def front_desk(self) -> Queue | None:
        """The first queue listed: where a ticket goes when no rule says otherwise."""
        return self.queues[0] if self.queues else None


# --- tickets as the pipeline sees them -------------------------------------------


@dataclass(frozen=True)
class TicketSnapshot:
    """What the pipeline needs to know about an existing ticket to decide."""

    ref: TicketRef
    subject: str
    status: TicketStatus
    requester: str
    organization_id: str | None
    followers: tuple[str, ...] = ()


# The ticket types and environments of the seeds (001, 003); rules and agents set them.
CATEGORIES = ("question", "problem", "service_request", "suggestion")
ENVIRONMENTS = ("production", "staging")


@dataclass(frozen=True)
class Triage:
    """How a new ticket is classified; rules set it, agents change it."""

    category: str = "question"
    priority: Priority = Priority.NORMAL
    environment: str = "production"
    queue: str | None = None
    tags: tuple[str, ...] = ()


class TokenPurpose(StrEnum):
    """What a plus-address token was issued for."""

    REPLY = "reply"  # customers answer here
    AGENT = "agent"  # agents answer notifications here
    NOTE = "note"  # anything sent here is an internal note


@dataclass(frozen=True)
class TokenClaim:
    ref: TicketRef
    purpose: TokenPurpose


class ThreadSource(StrEnum):
    """How a mail was tied to a ticket, strongest evidence first."""

    REPLY_TOKEN = "reply_token"
    HEADERS = "headers"
    SUBJECT_TAG = "subject_tag"


@dataclass(frozen=True)
class ThreadMatch:
    ref: TicketRef
    source: ThreadSource
    purpose: TokenPurpose = TokenPurpose.REPLY


class AuthorRole(StrEnum):
    REQUESTER = "requester"
    CONTACT = "contact"
    AGENT = "agent"
    STRANGER = "stranger"


class SenderAuth(Enum):
    """What a trusted Authentication-Results header (RFC 8601) says of the sender."""

    PASS = "pass"
    FAIL = "fail"
    UNKNOWN = "unknown"


class AutomatedKind(StrEnum):
    """Why a mail is machine-written and must never be answered (RFC 3834)."""

    AUTO_REPLY = "auto_reply"
    BOUNCE = "bounce"
    BULK = "bulk"


@dataclass(frozen=True)
class AutomatedVerdict:
    kind: AutomatedKind
    reason: str


# --- what an agent's mail asks for ---------------------------------------------------


@dataclass(frozen=True)
class TicketChanges:
    """What an agent's commands ask to change; None means unchanged."""

    status: TicketStatus | None = None
    priority: Priority | None = None
    queue: str | None = None
    category: str | None = None
    environment: str | None = None
    assignee: str | None = None
    tags: tuple[str, ...] = ()
    escalate: bool = False

    @property
    def empty(self) -> bool:
        return self == TicketChanges()


@dataclass(frozen=True)
class CommandSheet:
    """The commands read off an agent's mail, and what remains for the customer."""

    changes: TicketChanges
    errors: tuple[str, ...]
    text: str
    is_note: bool = False
    requester: str | None = None
    lines: tuple[str, ...] = ()


class DecisionKind(StrEnum):
    CREATE_TICKET = "create_ticket"
    THREAD_UPDATE = "thread_update"
    REJECT_UNAUTHORIZED = "reject_unauthorized"
    IGNORE_AUTOMATED = "ignore_automated"
    RECORD_BOUNCE = "record_bounce"
    QUARANTINE = "quarantine"
    DUPLICATE = "duplicate"
    AGENT_ERROR = "agent_error"

    @property
    def outcome(self) -> Outcome:
        return _OUTCOMES[self]


_OUTCOMES = {
    DecisionKind.CREATE_TICKET: Outcome.CREATED,
    DecisionKind.THREAD_UPDATE: Outcome.THREADED,
    DecisionKind.REJECT_UNAUTHORIZED: Outcome.REJECTED,
    DecisionKind.IGNORE_AUTOMATED: Outcome.IGNORED,
    DecisionKind.RECORD_BOUNCE: Outcome.BOUNCED,
    DecisionKind.QUARANTINE: Outcome.QUARANTINED,
    DecisionKind.DUPLICATE: Outcome.DUPLICATE,
    DecisionKind.AGENT_ERROR: Outcome.REJECTED,
}


@dataclass(frozen=True)
class Decision:
    """The single result of the inbound pipeline for one message."""

    kind: DecisionKind
    reason: str
    ticket: TicketRef | None = None
    author_role: AuthorRole = AuthorRole.STRANGER
    organization_id: str | None = None
    new_text: str = ""
    rules: TriageOutcome | None = None
    notify_sender: bool = False
    reply_template: str | None = None
    commands: CommandSheet | None = None

    @property
    def triage(self) -> Triage:
        """The classification rules gave (defaults when no rule set ran)."""
        return self.rules.triage if self.rules else Triage()

    @property
    def outcome(self) -> Outcome:
        return self.kind.outcome


def unique(items: Iterable[str]) -> tuple[str, ...]:
    """Items in first-seen order without repeats."""
    return tuple(dict.fromkeys(items))


# --- records read back from the store ----------------------------------------------


@dataclass(frozen=True)
class AttachmentRecord:
    filename: str
    content_type: str
    size: int
    sha256: str


@dataclass(frozen=True)
class MessageRecord:
    message_id: str
    direction: Direction
    visibility: Visibility
    sender: str
    recipients: tuple[str, ...]
    subject: str
    body: str
    attachments: tuple[AttachmentRecord, ...]
    created_at: datetime


@dataclass(frozen=True)
class EventRecord:
    at: datetime
    actor: str
    kind: str
    data: dict[str, object]


@dataclass(frozen=True)
class TicketRecord:
    ref: TicketRef
    subject: str
    status: TicketStatus
    priority: Priority
    category: str
    environment: str
    queue: str | None
    requester: str
    requester_name: str
    organization: str | None
    assignee: str | None
    tags: tuple[str, ...]
    followers: tuple[str, ...]
    created_at: datetime
    updated_at: datetime
    first_response_due: datetime | None
    resolution_due: datetime | None
    next_response_due: datetime | None = None


@dataclass(frozen=True)
class ReceiptRecord:
    """One received message as the ledger remembers it."""

    message_id: str | None
    raw_sha256: str
    outcome: Outcome
    ticket: TicketRef | None
    received_at: datetime


# --- mail on its way out -----------------------------------------------------------


class MailKind(StrEnum):
    ACKNOWLEDGEMENT = "acknowledgement"
    REJECTION = "rejection"
    ADMIN_ALERT = "admin_alert"
    # The lifecycle's mail (gateway/lifecycle_actions.py).
    STATUS = "status"
    REMINDER = "reminder"
    SURVEY = "survey"
    SLA_NOTICE = "sla_notice"
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


# --- triage: what the rules engine reads and decides ---------------------------------


@dataclass(frozen=True)
class TriageInput:
    """Everything a triage rule may look at, as plain values (no storage rows)."""

    sender: str
    sender_name: str
    organization: str | None
    contact: Contact | None
    is_agent: bool
    recipients: tuple[str, ...]
    subject: str
    body: str
    headers: tuple[tuple[str, str], ...]
    attachments: tuple[tuple[str, str], ...]  # (filename, content type)
    is_new: bool
    local_time: datetime
    in_business_hours: bool


@dataclass(frozen=True)
class RuleMatch:
    """One rule that matched, where it lives and why it matched."""

    file: str
    line: int
    name: str
    version: str
    why: tuple[str, ...]
    sets: tuple[str, ...]


@dataclass(frozen=True)
class TriageOutcome:
    """The result of running a rule set over one message."""

    triage: Triage
    assignee: str | None = None
    followers: tuple[str, ...] = ()
    reply_with: str | None = None
    reject_with: str | None = None
    ignore: bool = False
    matches: tuple[RuleMatch, ...] = ()
    set_by: tuple[tuple[str, str], ...] = ()  # (field, rule name) for the audit log
