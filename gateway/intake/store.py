"""The intake's ports bound to one open session: the pipeline's `Facts`, and the
`TicketLog`, `MailQueue` and `LifecycleHooks` the effects write through.

Built by the use case for each message's transaction; nothing here commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from gateway.domain import (
    CreateTicket,
    Decision,
    Directory,
    MailKind,
    OutgoingMail,
    ReceivedMail,
    TicketRef,
    TicketSnapshot,
    TicketStatus,
    Triage,
    TriageInput,
    TriageOutcome,
)
from gateway.domain.commands import CommandTerms
from gateway.domain.flood import (
    EVERYONE,
    Counter,
    FloodLimits,
    Hold,
    HoldSource,
    QuarantineCause,
)
from gateway.domain.policy import Policy
from gateway.domain.signing import ReplyTokens
from gateway.intake.assessment import Assessment
from gateway.intake.ports import Job
from gateway.lifecycle.actions import LifecycleActions
from gateway.lifecycle.escalation import EscalationOutcome
from gateway.lifecycle.sla import ReplyEffect
from gateway.mail.letters import Letter, Mailer
from inbound.thread_match import TokenVerifier
from rules.engine import RuleSet
from storage.flow import FlowLedger, QuarantineStore
from storage.repository import Outbox, ReceiptLedger, TicketRepository

REJECTION_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class IntakePolicy:
    support_addresses: tuple[str, ...]
    trusted_authserv_ids: tuple[str, ...]
    max_message_bytes: int
    locale: str
    zone: ZoneInfo
    limits: FloodLimits = field(default_factory=FloodLimits)  # [limits]
    admins: tuple[str, ...] = ()  # told once when a loop is held


class StoreFacts:
    """The pipeline's `Facts`, answered from the open transaction."""

    def __init__(
        self,
        session: Session,
        policy: IntakePolicy,
        directory: Directory,
        tokens: ReplyTokens,
        now: datetime,
        rules: RuleSet,
        support_policy: Policy,
        lifecycle: LifecycleActions,
    ) -> None:
        self._tickets = TicketRepository(session)
        self._rules = rules
        self._policy = support_policy  # the live policy, read once for this message
        self._calendar = support_policy.calendar
        self._ledger = ReceiptLedger(session)
        self._outbox = Outbox(session)
        self._now = now  # the decision's one instant
        self._session = session
        self._lifecycle = lifecycle
        self.directory = directory
        self.rules = rules
        self.tokens: TokenVerifier = tokens
        self.support_addresses: Sequence[str] = policy.support_addresses
        self.trusted_authserv_ids: Sequence[str] = policy.trusted_authserv_ids
        self.max_message_bytes = policy.max_message_bytes
        self.customer_escalation_phrases: Sequence[str] = lifecycle.customer_phrases()
        self.flood_limits = policy.limits
        self._flow = FlowLedger(session)

    def count(self, counter: Counter, key: str, window: timedelta) -> int:
        return self._flow.count(counter, key, self._now - window, self._now)

    def active_hold(self, *sources: tuple[HoldSource, str]) -> Hold | None:
        return self._flow.active_hold(sources, self._now)

    def already_received(self, dedup_key: str) -> bool:
        return self._ledger.seen(dedup_key)

    def ticket(self, ref: TicketRef) -> TicketSnapshot | None:
        return self._tickets.snapshot(ref)

    def ticket_exists(self, ref: TicketRef) -> bool:
        return self._tickets.snapshot(ref) is not None

    def ref_for_message_ids(self, message_ids: Sequence[str]) -> TicketRef | None:
        return self._tickets.ref_for_message_ids(message_ids)

    def ref_for_sent_message_id(self, message_id: str) -> TicketRef | None:
        return self._outbox.ticket_of(message_id)

    def rejections_recently_sent_to(self, address: str) -> int:
        since = self._now - REJECTION_WINDOW
        return self._outbox.count_sent_to(MailKind.REJECTION.value, address, since)

    def triage(self, subject: TriageInput) -> TriageOutcome:
        return self._rules.evaluate(subject)

    def local_now(self) -> datetime:
        return self._now.astimezone(self._calendar.zone)

    def in_business_hours(self) -> bool:
        return self._calendar.is_open(self._now)

    def follow_up_triage(self, ref: TicketRef, new_text: str) -> TriageOutcome | None:
        return self._lifecycle.follow_up_triage(self._session, ref, new_text)

    def command_terms(self) -> CommandTerms:
        return CommandTerms(self._calendar, self._now, self._policy.outcomes)


class SessionMail:
    """The `MailQueue` port over the open session."""

    def __init__(self, mailer: Mailer, session: Session) -> None:
        self._mailer = mailer
        self._session = session

    def queue(self, support_address: str, letter: Letter, now: datetime) -> OutgoingMail:
        return self._mailer.queue(self._session, support_address, letter, now)


class SessionLifecycle:
    """The `LifecycleHooks` port: the lifecycle's use-case steps bound to the open session."""

    def __init__(self, actions: LifecycleActions, session: Session) -> None:
        self._actions = actions
        self._session = session

    def initial_dues(
        self, now: datetime, triage: Triage, organization: str | None
    ) -> tuple[datetime | None, datetime | None]:
        return self._actions.initial_dues(now, triage, organization)

    def on_created(self, ref: TicketRef, linked_from: TicketRef | None, now: datetime) -> None:
        self._actions.on_created(self._session, ref, linked_from, now)

    def customer_replied(
        self, ref: TicketRef, text: str, sender: str, now: datetime
    ) -> ReplyEffect:
        return self._actions.customer_replied(self._session, ref, text, sender, now)

    def customer_escalation(
        self, ref: TicketRef, now: datetime, *, actor: str, author: str, channel: str, text: str
    ) -> EscalationOutcome:
        return self._actions.customer_escalation(
            self._session, ref, now, actor=actor, author=author, channel=channel, text=text
        )

    def agent_responded(self, ref: TicketRef, now: datetime, actor: str) -> None:
        self._actions.agent_responded(self._session, ref, now, actor)

    def change_status(
        self,
        ref: TicketRef,
        new: TicketStatus,
        now: datetime,
        *,
        actor: str,
        cause: str,
        notify: bool = True,
    ) -> TicketStatus:
        return self._actions.change_status(
            self._session, ref, new, now, actor=actor, cause=cause, notify=notify
        )

    def recompute(self, ref: TicketRef, now: datetime) -> None:
        self._actions.recompute(self._session, ref, now)

    def next_step(self, status: TicketStatus, now: datetime) -> str:
        return self._actions.next_step(status, now)


class SessionHeld:
    """The `HeldMail` port: the quarantine and the cool-downs, in the open session."""

    def __init__(self, session: Session, limits: FloodLimits) -> None:
        self._session = session
        self._limits = limits

    def hold(self, job: Job, cause: QuarantineCause, reason: str, ticket: TicketRef | None) -> None:
        QuarantineStore(self._session).hold(
            ReceivedMail.of(job.msg, job.dedup_key, job.channel),
            cause=cause,
            reason=reason,
            ticket_id=ticket.number if ticket else None,
            now=job.now,
            attachments=[part.sha256 for part in job.msg.attachments],
        )

    def cool_down(self, source: HoldSource, key: str, reason: str, now: datetime) -> bool:
        return FlowLedger(self._session).start_hold(
            source, key, reason, now, self._limits.cool_down
        )


def record_flow(
    session: Session,
    assessment: Assessment,
    decision: Decision,
    now: datetime,
    limits: FloodLimits,
) -> None:
    """The flood counts this mail adds, written with its decision (restart-proof); only
    those a limit that is on will read."""
    flow = assessment.flow
    if flow is None:
        return
    marks = [(Counter.MAIL_FROM, flow.sender)]
    if flow.ticket is not None:
        marks.append((Counter.MAIL_ON_TICKET, flow.ticket))
    marks.extend((Counter.TEXT_FROM, key) for key in flow.text_keys)
    if flow.signals:
        marks.append((Counter.LOOP_SIGNAL, flow.sender))
    if isinstance(decision, CreateTicket):
        marks.append((Counter.TICKET_OPENED, decision.requester_or(flow.sender)))
        marks.append((Counter.TICKET_OPENED, EVERYONE))
    FlowLedger(session).mark(
        [(counter, key) for counter, key in dict.fromkeys(marks) if limits.reads(counter, key)],
        now,
    )
