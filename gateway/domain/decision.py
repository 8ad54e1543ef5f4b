"""What the inbound pipeline concludes about one mail, one value per kind of decision.

Each decision kind is its own frozen dataclass carrying exactly what its
effects need (gateway/intake/effects.py), so no consumer narrows a bag of
optional fields. `Decision` is their union; `kind` and `outcome` say which.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum, StrEnum
from typing import ClassVar

from gateway.domain.flood import HoldSource, QuarantineCause, Tripped
from gateway.domain.tickets import TicketChanges, TicketRef, Triage
from gateway.domain.triage import TriageOutcome


class Outcome(StrEnum):
    """What happened to one inbound message; part of the `ingest --json` contract."""

    CREATED = "created"
    THREADED = "threaded"
    REJECTED = "rejected"
    IGNORED = "ignored"
    QUARANTINED = "quarantined"
    DUPLICATE = "duplicate"
    BOUNCED = "bounced"


@dataclass(frozen=True)
class ReceiptRecord:
    """One received message as the ledger remembers it."""

    message_id: str | None
    raw_sha256: str
    outcome: Outcome
    ticket: TicketRef | None
    received_at: datetime


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
    AGENT_UPDATE = "agent_update"
    REJECT_UNAUTHORIZED = "reject_unauthorized"
    IGNORE_AUTOMATED = "ignore_automated"
    RECORD_BOUNCE = "record_bounce"
    QUARANTINE = "quarantine"
    HOLD_LOOP = "hold_loop"
    DUPLICATE = "duplicate"
    AGENT_ERROR = "agent_error"
    AGENT_COMMANDS_FAILED = "agent_commands_failed"
    AGENT_ASKS_FOR_TICKET = "agent_asks_for_ticket"

    @property
    def outcome(self) -> Outcome:
        return _OUTCOMES[self]


_OUTCOMES = {
    DecisionKind.CREATE_TICKET: Outcome.CREATED,
    DecisionKind.THREAD_UPDATE: Outcome.THREADED,
    DecisionKind.AGENT_UPDATE: Outcome.THREADED,
    DecisionKind.REJECT_UNAUTHORIZED: Outcome.REJECTED,
    DecisionKind.IGNORE_AUTOMATED: Outcome.IGNORED,
    DecisionKind.RECORD_BOUNCE: Outcome.BOUNCED,
    DecisionKind.QUARANTINE: Outcome.QUARANTINED,
    DecisionKind.HOLD_LOOP: Outcome.QUARANTINED,
    DecisionKind.DUPLICATE: Outcome.DUPLICATE,
    DecisionKind.AGENT_ERROR: Outcome.REJECTED,
    DecisionKind.AGENT_COMMANDS_FAILED: Outcome.THREADED,
    DecisionKind.AGENT_ASKS_FOR_TICKET: Outcome.REJECTED,
}


class _Decided:
    """What every decision answers: its kind, why, and the outcome the sender learns."""

    kind: ClassVar[DecisionKind]
    reason: str

    @property
    def outcome(self) -> Outcome:
        return self.kind.outcome


@dataclass(frozen=True)
class CreateTicket(_Decided):
    """An authorized contact (or an agent on a contact's behalf) opens a ticket."""

    kind: ClassVar[DecisionKind] = DecisionKind.CREATE_TICKET
    reason: str
    organization_id: str | None
    new_text: str
    rules: TriageOutcome | None = None
    history: str = ""  # the whole text when quoted history was cut (agents see it folded)
    # An agent's `#requester` mail: the contact it is opened for, and the agent's commands.
    on_behalf: CommandSheet | None = None
    # A reply to a closed ticket that opens a new one linked to it.
    follow_up_of: TicketRef | None = None

    @property
    def triage(self) -> Triage:
        """The classification rules gave (defaults when no rule set ran)."""
        return self.rules.triage if self.rules else Triage()

    def requester_or(self, sender: str) -> str:
        """Whose ticket it is: the contact an agent opened it for, else the sender."""
        sheet = self.on_behalf
        return sheet.requester if sheet is not None and sheet.requester else sender


@dataclass(frozen=True)
class ThreadUpdate(_Decided):
    """The requester or a contact of its organization wrote on a ticket."""

    kind: ClassVar[DecisionKind] = DecisionKind.THREAD_UPDATE
    reason: str
    ticket: TicketRef
    author_role: AuthorRole
    organization_id: str | None
    new_text: str
    rules: TriageOutcome | None = None
    history: str = ""  # the whole text when quoted history was cut (agents see it folded)
    # The customer asks to take the ticket to the next level ("quero escalar", seed 001).
    escalate: bool = False


@dataclass(frozen=True)
class AgentUpdate(_Decided):
    """An agent answered through a ticket's signed agent or note address."""

    kind: ClassVar[DecisionKind] = DecisionKind.AGENT_UPDATE
    reason: str
    ticket: TicketRef
    commands: CommandSheet
    author_role: ClassVar[AuthorRole] = AuthorRole.AGENT


@dataclass(frozen=True)
class RejectUnauthorized(_Decided):
    """Not someone who may write here: the polite rejection, at most once a day."""

    kind: ClassVar[DecisionKind] = DecisionKind.REJECT_UNAUTHORIZED
    reason: str
    organization_id: str | None = None
    notify_sender: bool = False
    template: str = "rejection"
    rules: TriageOutcome | None = None
    # The sender's organization's own instructions (`rejection_note` in directory.yaml),
    # the same for anyone of it: it says nothing about any ticket.
    organization_note: str = ""


@dataclass(frozen=True)
class IgnoreAutomated(_Decided):
    """Machine-written mail, our own loop, or a rule's `ignore`: stored, never answered."""

    kind: ClassVar[DecisionKind] = DecisionKind.IGNORE_AUTOMATED
    reason: str
    rules: TriageOutcome | None = None


@dataclass(frozen=True)
class RecordBounce(_Decided):
    """A delivery report; when it reports our mail, the ticket it belongs to."""

    kind: ClassVar[DecisionKind] = DecisionKind.RECORD_BOUNCE
    reason: str
    ticket: TicketRef | None = None


@dataclass(frozen=True)
class Quarantine(_Decided):
    """Kept and never processed or answered: oversized, senderless or forged mail, or
    mail from a source cooling down after a loop; held until an admin releases it."""

    kind: ClassVar[DecisionKind] = DecisionKind.QUARANTINE
    reason: str
    cause: QuarantineCause = QuarantineCause.OTHER
    ticket: TicketRef | None = None  # the ticket it would have threaded into, if any


@dataclass(frozen=True)
class HoldLoop(_Decided):
    """A loop or flood: this mail went over a limit. It is held like a quarantined one,
    its source cools down (further mail from it is held too) and the admins hear once."""

    kind: ClassVar[DecisionKind] = DecisionKind.HOLD_LOOP
    reason: str
    source: HoldSource
    key: str  # the sender's address, the ticket's ref, or "*"
    # `reason` in data: which limit, its count and window (the alert words it per locale)
    tripped: Tripped
    ticket: TicketRef | None = None


@dataclass(frozen=True)
class Duplicate(_Decided):
    """A redelivery of a message already decided: nothing new is made."""

    kind: ClassVar[DecisionKind] = DecisionKind.DUPLICATE
    reason: str


@dataclass(frozen=True)
class AgentError(_Decided):
    """An agent's mail that cannot be carried out; only the agent hears why."""

    kind: ClassVar[DecisionKind] = DecisionKind.AGENT_ERROR
    reason: str
    errors: tuple[str, ...]


@dataclass(frozen=True)
class AgentCommandsFailed(_Decided):
    """An agent's commands on a ticket had mistakes: nothing is applied or sent to the
    customer, the text is kept as an internal note, and the agent hears what failed."""

    kind: ClassVar[DecisionKind] = DecisionKind.AGENT_COMMANDS_FAILED
    reason: str
    ticket: TicketRef
    errors: tuple[str, ...]
    new_text: str
    author_role: ClassVar[AuthorRole] = AuthorRole.AGENT


@dataclass(frozen=True)
class AgentAsksForTicket(_Decided):
    """An agent wrote about a ticket without its signed address (a `[#REF]` subject, a
    forwarded thread): nothing is carried out, and a fresh notification with the agent's
    own signed addresses goes to the agent's directory address (never to the sender)."""

    kind: ClassVar[DecisionKind] = DecisionKind.AGENT_ASKS_FOR_TICKET
    reason: str
    ticket: TicketRef
    # Set when the mail carried commands or text: why none of it was carried out.
    errors: tuple[str, ...] = ()
    author_role: ClassVar[AuthorRole] = AuthorRole.AGENT


Decision = (
    CreateTicket
    | ThreadUpdate
    | AgentUpdate
    | RejectUnauthorized
    | IgnoreAutomated
    | RecordBounce
    | Quarantine
    | HoldLoop
    | Duplicate
    | AgentError
    | AgentCommandsFailed
    | AgentAsksForTicket
)
