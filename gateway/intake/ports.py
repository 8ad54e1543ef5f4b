"""What a decision's effects may touch: the ports of the message's one transaction.

Effects (effects.py, agent_effects.py) write through these Protocols only.
The use case binds them to its open session (store.py); unit tests bind
them to in-memory fakes. A `Job` is one decision being carried out: the
message, the instant, the directory of that moment, and these ports.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from gateway.domain import (
    Direction,
    Directory,
    EventKind,
    MessageRecord,
    OutgoingMail,
    ParsedMessage,
    TicketRecord,
    TicketRef,
    TicketStatus,
    Triage,
    Visibility,
)
from gateway.domain.flood import HoldSource, QuarantineCause
from gateway.domain.signing import ReplyTokens
from gateway.lifecycle.escalation import EscalationOutcome
from gateway.lifecycle.sla import ReplyEffect
from gateway.mail.labels import Words
from gateway.mail.letters import Letter
from inbound.addressing import parse_support_recipient
from storage.repository import NewMessage


class TicketLog(Protocol):
    """Tickets, their threads and their event log (storage/repository.py)."""

    def create(
        self,
        *,
        subject: str,
        requester: str,
        requester_name: str,
        organization_id: str | None,
        triage: Triage,
        now: datetime,
        first_response_due: datetime | None,
        resolution_due: datetime | None,
        assignee: str | None = None,
        followers: Sequence[str] = (),
    ) -> TicketRef: ...

    def get(self, ref: TicketRef) -> TicketRecord | None: ...

    def add_message(self, ref: TicketRef, message: NewMessage, now: datetime) -> None: ...

    def change_fields(
        self, ref: TicketRef, changes: dict[str, Any], now: datetime
    ) -> dict[str, tuple[Any, Any]]: ...

    def record_event(
        self, ref: TicketRef | None, event: str, actor: str, now: datetime, **data: Any
    ) -> None: ...

    def fields_set_by_agents(self, ref: TicketRef) -> dict[str, str]:
        """{field: the agent who last set it} (their `field_changed` events)."""
        ...

    def public_message_ids(self, ref: TicketRef, limit: int = 20) -> list[str]: ...

    def messages(self, ref: TicketRef) -> list[MessageRecord]: ...

    def last_customer_message_id(self, ref: TicketRef) -> str | None: ...


class MailQueue(Protocol):
    """Letters rendered and queued in the outbox of the same transaction."""

    def queue(self, support_address: str, letter: Letter, now: datetime) -> OutgoingMail: ...


class HeldMail(Protocol):
    """The quarantine and the cool-downs of loop sources (storage/flow.py)."""

    def hold(
        self,
        job: Job,
        cause: QuarantineCause,
        reason: str,
        ticket: TicketRef | None,
    ) -> None: ...

    def cool_down(self, source: HoldSource, key: str, reason: str, now: datetime) -> bool:
        """Hold `source` for one cool-down; True when the admins are to be told."""
        ...


class LifecycleHooks(Protocol):
    """The ticket's clock (gateway/lifecycle): the one writer of status and due times."""

    def initial_dues(
        self, now: datetime, triage: Triage, organization: str | None
    ) -> tuple[datetime | None, datetime | None]: ...

    def on_created(self, ref: TicketRef, linked_from: TicketRef | None, now: datetime) -> None: ...

    def customer_replied(
        self, ref: TicketRef, text: str, sender: str, now: datetime
    ) -> ReplyEffect: ...

    def customer_escalation(
        self, ref: TicketRef, now: datetime, *, actor: str, author: str, channel: str, text: str
    ) -> EscalationOutcome: ...

    def agent_responded(self, ref: TicketRef, now: datetime, actor: str) -> None: ...

    def change_status(
        self,
        ref: TicketRef,
        new: TicketStatus,
        now: datetime,
        *,
        actor: str,
        cause: str,
        notify: bool = True,
    ) -> TicketStatus: ...

    def recompute(self, ref: TicketRef, now: datetime) -> None: ...

    def next_step(self, status: TicketStatus, now: datetime) -> str: ...


@dataclass(frozen=True)
class Ports:
    tickets: TicketLog
    mail: MailQueue
    lifecycle: LifecycleHooks
    tokens: ReplyTokens
    words: Words
    support_addresses: tuple[str, ...]
    held: HeldMail
    admins: tuple[str, ...] = ()  # [gateway] admins: told once when a loop is held


@dataclass
class Job:
    """One decision being carried out; effects read it and fill in what they learn."""

    msg: ParsedMessage
    directory: Directory
    now: datetime
    ports: Ports
    ref: TicketRef | None = None  # the ticket concerned; `open_ticket` sets it for a new one
    answered: bool = False  # an agent's answer went to the customer with this mail
    # Fields this mail changed, {field: (old, new)}: hand-offs are announced from it.
    changed: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    told: set[str] = field(default_factory=set)  # agents mailed about it already, once is enough
    channel: str = "smtp"  # how it came in: smtp, imap, ingest, release
    dedup_key: str = ""  # its key in the receipt ledger

    @property
    def sender(self) -> str:
        return self.msg.sender.address if self.msg.sender else ""

    @property
    def sender_name(self) -> str:
        return self.msg.sender.name if self.msg.sender else ""

    @property
    def support(self) -> str:
        """Answer from the official address the customer wrote to, if it is one of ours."""
        addresses = self.ports.support_addresses
        for recipient in self.msg.recipients:
            found = parse_support_recipient(recipient, addresses)
            if found:
                return found.address
        return addresses[0]

    def ticket(self) -> TicketRecord:
        """The ticket concerned, as it stands now in this transaction."""
        assert self.ref is not None, "an effect that needs a ticket ran before one was known"
        record = self.ports.tickets.get(self.ref)
        assert record is not None
        return record

    def event(self, kind: EventKind, actor: str | None = None, **data: Any) -> None:
        self.ports.tickets.record_event(
            self.ref, kind, self.sender if actor is None else actor, self.now, **data
        )

    def keep_received(self, body: str, visibility: Visibility, body_html: str = "") -> None:
        """This mail in the ticket's thread: the given text, its attachments, its raw bytes."""
        assert self.ref is not None
        msg = self.msg
        self.ports.tickets.add_message(
            self.ref,
            NewMessage(
                message_id=msg.stored_id,
                direction=Direction.INBOUND,
                visibility=visibility,
                sender=self.sender,
                recipients=tuple(a.address for a in (*msg.to, *msg.cc)),
                subject=msg.subject,
                body=body,
                body_html=body_html,
                raw_sha256=msg.raw_sha256,
                # An inline part without a name is a signature logo, not an attachment.
                attachments=tuple(p for p in msg.attachments if not p.inline or p.filename),
            ),
            self.now,
        )

    def is_support(self, address: str) -> bool:
        return parse_support_recipient(address, self.ports.support_addresses) is not None
