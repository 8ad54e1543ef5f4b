"""Tickets as every package speaks of them: status, priority, refs, triage, records."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum, StrEnum


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


# Reply and forward prefixes of the mail clients our customers use (en, pt_BR, es, de, fr),
# and the gateway's own `[#REF]` tag: none of them is part of what the ticket is about.
_SUBJECT_NOISE = re.compile(
    r"^\s*(?:(?:re|res|resp|fw|fwd|enc|rv|tr|aw|wg)\s*(?:\[\d+\])?\s*:|\[#TG-\d{1,12}\])\s*",
    re.IGNORECASE,
)


def clean_subject(subject: str) -> str:
    """A new ticket's subject without the Re:/RES:/Fwd: prefixes and `[#REF]` tags a reply
    carries, so a follow-up does not read "Re: [#TG-00003] ..." (issue 11)."""
    text = subject.strip()
    while (match := _SUBJECT_NOISE.match(text)) is not None and match.end() > 0:
        text = text[match.end():]
    return " ".join(text.split())


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
    queue: str | None = None


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


# --- what an agent's mail asks for ---------------------------------------------------


@dataclass(frozen=True)
class TicketChanges:
    """What an agent's commands ask to change; None (or False) means unchanged."""

    status: TicketStatus | None = None
    priority: Priority | None = None
    queue: str | None = None
    category: str | None = None
    environment: str | None = None
    assignee: str | None = None
    tags: tuple[str, ...] = ()
    escalate: bool = False
    take: bool = False  # `#take`/`#assumir`: send me this ticket's mail afresh
    keep_assignee: bool = False  # `#queue n2 keep`: the assignee stays on a queue change
    due_at: datetime | None = None  # `#due`: the resolution date agreed with the customer
    outcome: str | None = None  # `#outcome`: an outcome id of the policy

    @property
    def empty(self) -> bool:
        return self == TicketChanges()


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
    next_response_due: datetime | None
    # The SLA clock (gateway/lifecycle): when the status last changed, the first answer,
    # a customer message still unanswered, a pause in progress and the time paused.
    status_since: datetime
    first_responded_at: datetime | None
    awaiting_since: datetime | None
    paused_at: datetime | None
    paused: timedelta
    linked_from: TicketRef | None
    # Set by agents: the resolution date promised to the customer, and how it ended.
    due_at: datetime | None = None
    outcome: str | None = None
    paused_elapsed: timedelta = timedelta(0)  # the time paused in calendar (24×7) time

    def snapshot(self) -> TicketSnapshot:
        """What the pipeline sees of this ticket."""
        return TicketSnapshot(
            self.ref,
            self.subject,
            self.status,
            self.requester,
            self.organization,
            self.followers,
            self.queue,
        )
