"""The intake use case: raw bytes in, one decision committed with its outbox rows.

Every inbound path (SMTP, IMAP, `ingest`) calls `Intake.receive`. It stores
the raw bytes and attachments durably first, parses once, runs the pipeline
inside one transaction (the pipeline reads the world through `StoreFacts`),
applies the decision, queues the mail it causes and commits. Only then does
the caller answer 250, move the IMAP message or print the outcome.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.domain import (
    AuthorRole,
    Clock,
    Decision,
    DecisionKind,
    Direction,
    Directory,
    Envelope,
    MailKind,
    Outcome,
    ParsedMessage,
    TicketRef,
    TicketSnapshot,
    TriageInput,
    TriageOutcome,
    Visibility,
)
from gateway.domain.calendar import BusinessCalendar
from gateway.domain.signing import ReplyTokens
from gateway.intake import steps as pipeline
from gateway.intake.agents import AgentDesk, AgentEvent, split_followers
from gateway.lifecycle.actions import LifecycleActions
from gateway.mail.letters import Letter, Mailer
from inbound.addressing import parse_support_recipient
from inbound.html_sanitizer import sanitize_html
from inbound.mime import UnparseableMessage, parse_message
from outbound.compose import Templates
from rules.engine import RuleSet
from storage.blobs import BlobStore
from storage.db import Database
from storage.repository import NewMessage, Outbox, ReceiptLedger, TicketRepository

log = logging.getLogger(__name__)

REJECTION_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class Receipt:
    """What became of one inbound message; the `ingest --json` line."""

    message_id: str | None
    outcome: Outcome
    ticket: TicketRef | None
    reason: str = ""


@dataclass(frozen=True)
class IntakePolicy:
    support_addresses: tuple[str, ...]
    trusted_authserv_ids: tuple[str, ...]
    max_message_bytes: int
    locale: str
    zone: ZoneInfo


class StoreFacts:
    """The pipeline's `Facts`, answered from the open transaction."""

    def __init__(
        self,
        session: Session,
        policy: IntakePolicy,
        directory: Directory,
        tokens: ReplyTokens,
        clock: Clock,
        rules: RuleSet,
        calendar: BusinessCalendar,
    ) -> None:
        self._tickets = TicketRepository(session)
        self._rules = rules
        self._calendar = calendar
        self._ledger = ReceiptLedger(session)
        self._outbox = Outbox(session)
        self._clock = clock
        self.directory = directory
        self.rules = rules
        self.tokens = tokens
        self.support_addresses: Sequence[str] = policy.support_addresses
        self.trusted_authserv_ids: Sequence[str] = policy.trusted_authserv_ids
        self.max_message_bytes = policy.max_message_bytes

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
        since = self._clock.now() - REJECTION_WINDOW
        return self._outbox.count_sent_to(MailKind.REJECTION.value, address, since)

    def triage(self, subject: TriageInput) -> TriageOutcome:
        return self._rules.evaluate(subject)

    def local_now(self) -> datetime:
        return self._clock.now().astimezone(self._calendar.zone)

    def in_business_hours(self) -> bool:
        return self._calendar.is_open(self._clock.now())


class Intake:
    """Receives one message at a time from any channel; safe to call from threads."""

    def __init__(
        self,
        *,
        db: Database,
        blobs: BlobStore,
        policy: IntakePolicy,
        directory: Callable[[], Directory],
        rules: Callable[[], RuleSet],
        tokens: ReplyTokens,
        templates: Templates,
        calendar: Callable[[], BusinessCalendar],
        clock: Clock,
        lifecycle: LifecycleActions,
        on_commit: Callable[[], None] = lambda: None,
    ) -> None:
        self.db = db
        self.blobs = blobs
        self.policy = policy
        self.directory = directory
        self.rules = rules
        self.tokens = tokens
        self.templates = templates
        self.calendar = calendar
        self.clock = clock
        self.on_commit = on_commit
        self.lifecycle = lifecycle  # the SLA clock, status timers and surveys (issue 5)
        self.mailer = Mailer(templates, policy.locale, policy.zone, clock)
        self.desk = AgentDesk(self.mailer, tokens)

    def receive(
        self, raw: bytes, envelope: Envelope | None = None, channel: str = "smtp"
    ) -> Receipt:
        raw_sha = self.blobs.put(raw)
        try:
            msg = parse_message(raw, envelope)
        except UnparseableMessage as exc:
            return self._quarantine_unparseable(raw, raw_sha, channel, str(exc))
        for part in msg.attachments:
            self.blobs.put(part.content)
        try:
            receipt = self._decide_and_commit(msg, channel)
        except IntegrityError:
            # Another worker may have committed the same Message-ID between our check and
            # insert; anything else is a fault, answered 451 so the sender keeps the mail.
            with self.db.transaction() as session:
                if not ReceiptLedger(session).seen(pipeline.dedup_key(msg)):
                    raise
            log.info("concurrent redelivery of %s: duplicate", msg.message_id)
            return Receipt(msg.message_id, Outcome.DUPLICATE, None, "concurrent redelivery")
        log.info(
            "%s %s from %s: %s%s (%s)",
            channel,
            msg.message_id or f"sha256:{raw_sha[:12]}",
            msg.sender.address if msg.sender else "?",
            receipt.outcome.value,
            f" {receipt.ticket}" if receipt.ticket else "",
            receipt.reason,
        )
        if receipt.outcome is not Outcome.DUPLICATE:
            self.on_commit()
        return receipt

    def _decide_and_commit(self, msg: ParsedMessage, channel: str) -> Receipt:
        now = self.clock.now()
        # One directory and one rule set per message, taken before the transaction (a
        # reload may queue an admin alert in its own): a swap never lands half-way.
        directory, rules, calendar = self.directory(), self.rules(), self.calendar()
        with self.db.transaction() as session:
            facts = StoreFacts(
                session, self.policy, directory, self.tokens, self.clock, rules, calendar
            )
            decision = pipeline.run(msg, facts)
            decision = self.lifecycle.route(session, decision)  # closed: maybe a new ticket
            ledger = ReceiptLedger(session)
            if decision.kind is DecisionKind.DUPLICATE:
                earlier = ledger.outcome_of(pipeline.dedup_key(msg))
                ticket = earlier[1] if earlier else None
                return Receipt(msg.message_id, Outcome.DUPLICATE, ticket, decision.reason)
            ticket = self._apply(session, msg, decision, directory)
            ledger.record(
                dedup_key=pipeline.dedup_key(msg),
                message_id=msg.message_id,
                raw_sha256=msg.raw_sha256,
                size=msg.size,
                sender=msg.sender.address if msg.sender else "",
                channel=channel,
                outcome=decision.outcome,
                reason=decision.reason,
                ticket=ticket,
                now=now,
            )
        return Receipt(msg.message_id, decision.outcome, ticket, decision.reason)

    def _apply(
        self, session: Session, msg: ParsedMessage, decision: Decision, directory: Directory
    ) -> TicketRef | None:
        support = self._support_address(msg)
        match decision.kind:
            case DecisionKind.CREATE_TICKET:
                return self._create_ticket(session, msg, decision, directory)
            case DecisionKind.THREAD_UPDATE if decision.author_role is AuthorRole.AGENT:
                assert decision.ticket is not None
                since = self.clock.now()
                before = self.lifecycle.clock(session, decision.ticket)
                self.desk.agent_reply(
                    session, directory, msg, decision, support, self.policy.support_addresses
                )
                self.lifecycle.after_agent_update(session, before, since)  # answers, #status …
                return decision.ticket
            case DecisionKind.THREAD_UPDATE:
                return self._thread_update(session, msg, decision, directory)
            case DecisionKind.RECORD_BOUNCE if decision.ticket is not None:
                TicketRepository(session).record_event(
                    decision.ticket,
                    "mail_bounced",
                    msg.sender.address if msg.sender else "",
                    self.clock.now(),
                    reason=decision.reason,
                    bounced_message_id=msg.reported_message_id,
                )
                return decision.ticket
            case DecisionKind.AGENT_ERROR:
                errors = decision.commands.errors if decision.commands else ()
                self.desk.command_errors(session, msg, errors, None, support)
                return None
            case DecisionKind.REJECT_UNAUTHORIZED:
                if decision.notify_sender and msg.sender is not None:
                    self._queue_rejection(session, msg, decision.reply_template or "rejection")
                return None
            case _:
                return None

    def _inbound_message(self, msg: ParsedMessage, decision: Decision) -> NewMessage:
        return NewMessage(
            message_id=msg.stored_id,
            direction=Direction.INBOUND,
            visibility=Visibility.PUBLIC,
            sender=msg.sender.address if msg.sender else "",
            recipients=tuple(a.address for a in (*msg.to, *msg.cc)),
            subject=msg.subject,
            body=decision.new_text,
            body_html=sanitize_html(msg.html_body) if msg.html_body else "",
            raw_sha256=msg.raw_sha256,
            attachments=tuple(p for p in msg.attachments if not p.inline or p.filename),
        )

    def _create_ticket(
        self, session: Session, msg: ParsedMessage, decision: Decision, directory: Directory
    ) -> TicketRef:
        assert msg.sender is not None
        now = self.clock.now()
        tickets = TicketRepository(session)
        triage = decision.triage
        rules = decision.rules
        requester, requester_name = msg.sender.address, msg.sender.name
        on_behalf = decision.author_role is AuthorRole.AGENT and decision.commands is not None
        if on_behalf:
            assert decision.commands is not None and decision.commands.requester is not None
            requester = decision.commands.requester
            found = directory.contact(requester)
            requester_name = found[1].name if found else ""
        first_due, resolution_due = self.lifecycle.initial_dues(
            now, triage, decision.organization_id
        )
        subject = msg.subject or (
            "(sem assunto)" if self.policy.locale == "pt_BR" else "(no subject)"
        )
        ref = tickets.create(
            subject=subject,
            requester=requester,
            requester_name=requester_name,
            organization_id=decision.organization_id,
            triage=triage,
            now=now,
            first_response_due=first_due,
            resolution_due=resolution_due,
            assignee=rules.assignee if rules else None,
            followers=split_followers(
                directory, decision.organization_id, rules.followers if rules else ()
            )[0],
        )
        tickets.add_message(ref, self._inbound_message(msg, decision), now)
        tickets.record_event(
            ref,
            "created",
            msg.sender.address,
            now,
            reason=decision.reason,
            channel_message_id=msg.message_id,
            requester=requester,
            triage={
                "queue": triage.queue,
                "priority": int(triage.priority),
                "category": triage.category,
                "environment": triage.environment,
                "tags": list(triage.tags),
            },
        )
        self._record_rules(tickets, ref, rules, now)
        support = self._support_address(msg)
        if on_behalf:
            assert decision.commands is not None
            ticket = tickets.get(ref)
            assert ticket is not None
            self.desk.apply_changes(
                tickets, directory, ticket, decision.commands.changes, msg.sender.address, now
            )
        else:
            self.desk.follow_cc(session, directory, ref, msg, self.policy.support_addresses)
        # Start the SLA clock; link a follow-up of a closed ticket.
        self.lifecycle.on_created(session, ref, decision.ticket, now)
        template = rules.reply_with if rules and rules.reply_with else "acknowledgement"
        self._queue_ticket_mail(session, ref, template, msg, (requester_name, requester))
        self.desk.notify_agents(
            session,
            directory,
            ref,
            AgentEvent(
                "new", msg.sender.address, msg.sender.name, decision.new_text, msg.attachments
            ),
            support,
        )
        return ref

    def _queue_ticket_mail(
        self,
        session: Session,
        ref: TicketRef,
        template: str,
        msg: ParsedMessage,
        to: tuple[str, str],
    ) -> None:
        """An automatic reply about a ticket (the acknowledgement, or a rule's template)."""
        ticket = TicketRepository(session).get(ref)
        assert ticket is not None
        support = self._support_address(msg)
        mailer = self.mailer
        self.mailer.queue(
            session,
            support,
            Letter(
                kind=MailKind.ACKNOWLEDGEMENT,
                template=template,
                context={
                    "ticket": {
                        "ref": str(ref),
                        "subject": ticket.subject,
                        "priority": int(ticket.priority),
                    },
                    "requester_name": to[0],
                    "priority_label": mailer.priority_label(int(ticket.priority)),
                    "category_label": mailer.category_label(ticket.category),
                    "first_response_due": mailer.local_time(ticket.first_response_due),
                    "support_address": support,
                },
                to=[to],
                ticket=ref,
                reply_to=self.tokens.reply_address(support, ref),
                in_reply_to=msg.message_id,
                references=msg.references,
                public_author=support,
            ),
        )

    @staticmethod
    def _record_rules(
        tickets: TicketRepository, ref: TicketRef, rules: TriageOutcome | None, now: datetime
    ) -> None:
        """Audit: which rules (file, name, version) set which fields (issue 4)."""
        if not rules or not rules.matches:
            return
        tickets.record_event(
            ref,
            "triaged_by_rules",
            "rules",
            now,
            rules=[
                {
                    "file": m.file,
                    "line": m.line,
                    "name": m.name,
                    "version": m.version,
                    "sets": list(m.sets),
                }
                for m in rules.matches
            ],
            set_by=dict(rules.set_by),
        )

    def _thread_update(
        self, session: Session, msg: ParsedMessage, decision: Decision, directory: Directory
    ) -> TicketRef:
        assert decision.ticket is not None and msg.sender is not None
        now = self.clock.now()
        tickets = TicketRepository(session)
        ref = decision.ticket
        tickets.add_message(ref, self._inbound_message(msg, decision), now)
        tickets.record_event(
            ref,
            "message_added",
            msg.sender.address,
            now,
            role=decision.author_role.value,
            reason=decision.reason,
            channel_message_id=msg.message_id,
        )
        self._apply_rules_to_update(session, tickets, ref, msg, decision, directory, now)
        customer = decision.author_role in (AuthorRole.REQUESTER, AuthorRole.CONTACT)
        if customer:  # a survey answer, a reopen, or the SLA clock resuming
            self.lifecycle.customer_replied(
                session, ref, decision.new_text, msg.sender.address, now
            )
        if customer:
            support = self._support_address(msg)
            self.desk.follow_cc(session, directory, ref, msg, self.policy.support_addresses)
            self.desk.notify_agents(
                session,
                directory,
                ref,
                AgentEvent(
                    "update",
                    msg.sender.address,
                    msg.sender.name,
                    decision.new_text,
                    msg.attachments,
                ),
                support,
            )
        return ref

    def _apply_rules_to_update(
        self,
        session: Session,
        tickets: TicketRepository,
        ref: TicketRef,
        msg: ParsedMessage,
        decision: Decision,
        directory: Directory,
        now: datetime,
    ) -> None:
        """Rules matching an update change only the fields they name, with an event each."""
        rules = decision.rules
        if not rules or not rules.matches:
            return
        set_by = dict(rules.set_by)
        triage = rules.triage
        wanted: dict[str, object] = {
            name: getattr(triage, name)
            for name in ("category", "priority", "queue", "environment")
            if name in set_by
        }
        if "tags" in set_by:
            wanted["tags"] = list(triage.tags)
        if "assignee" in set_by:
            wanted["assignee"] = rules.assignee
        if "followers" in set_by:
            record = tickets.get(ref)
            organization = record.organization if record else None
            wanted["followers"] = split_followers(directory, organization, rules.followers)[0]
        for name, (old, new) in tickets.change_fields(ref, wanted, now).items():
            tickets.record_event(
                ref, "field_changed", f"rule:{set_by[name]}", now, field=name, old=old, new=new
            )
        self._record_rules(tickets, ref, rules, now)
        if rules.reply_with and msg.sender is not None:
            to = (msg.sender.name, msg.sender.address)
            self._queue_ticket_mail(session, ref, rules.reply_with, msg, to)

    def _queue_rejection(
        self, session: Session, msg: ParsedMessage, template: str = "rejection"
    ) -> None:
        assert msg.sender is not None
        support = self._support_address(msg)
        self.mailer.queue(
            session,
            support,
            Letter(
                kind=MailKind.REJECTION,
                template=template,
                context={"support_address": support},
                to=[("", msg.sender.address)],
                in_reply_to=msg.message_id,
                references=msg.references,
            ),
        )

    def _support_address(self, msg: ParsedMessage) -> str:
        """Answer from the official address the customer wrote to, if it is one of ours."""
        for recipient in msg.recipients:
            found = parse_support_recipient(recipient, self.policy.support_addresses)
            if found:
                return found.address
        return self.policy.support_addresses[0]

    def _quarantine_unparseable(
        self, raw: bytes, raw_sha: str, channel: str, reason: str
    ) -> Receipt:
        now = self.clock.now()
        key = f"sha256:{raw_sha}"
        try:
            with self.db.transaction() as session:
                ledger = ReceiptLedger(session)
                if ledger.seen(key):
                    return Receipt(None, Outcome.DUPLICATE, None, "already received")
                ledger.record(
                    dedup_key=key,
                    message_id=None,
                    raw_sha256=raw_sha,
                    size=len(raw),
                    sender="",
                    channel=channel,
                    outcome=Outcome.QUARANTINED,
                    reason=reason,
                    ticket=None,
                    now=now,
                )
        except IntegrityError:
            return Receipt(None, Outcome.DUPLICATE, None, "already received")
        log.warning("%s message sha256:%s quarantined: %s", channel, raw_sha[:12], reason)
        return Receipt(None, Outcome.QUARANTINED, None, reason)
