"""The intake use case: raw bytes in, one decision committed with its outbox rows.

Every inbound path (SMTP, IMAP, `ingest`) calls `Intake.receive`. It stores
the raw bytes and attachments durably first, parses once, runs the pipeline
(steps.py) inside one transaction, carries out the decision's effects
(effects.py) through ports bound to that transaction (store.py), records the
receipt and commits. Only then does the caller answer 250, move the IMAP
message or print the outcome.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from gateway.domain import Clock, Directory, Envelope, Outcome, ParsedMessage, TicketRef
from gateway.domain.policy import Policy
from gateway.domain.signing import ReplyTokens
from gateway.intake import steps
from gateway.intake.effects import carry_out
from gateway.intake.ports import Job, Ports
from gateway.intake.store import IntakePolicy, SessionLifecycle, SessionMail, StoreFacts
from gateway.lifecycle.actions import LifecycleActions
from gateway.mail.labels import Words
from gateway.mail.letters import Mailer
from inbound.mime import UnparseableMessage, parse_message
from outbound.compose import Templates
from rules.engine import RuleSet
from storage.blobs import BlobStore
from storage.db import Database
from storage.repository import ReceiptLedger, TicketRepository

log = logging.getLogger(__name__)

__all__ = ["Intake", "IntakePolicy", "Receipt"]


@dataclass(frozen=True)
class Receipt:
    """What became of one inbound message; the `ingest --json` line."""

    message_id: str | None
    outcome: Outcome
    ticket: TicketRef | None
    reason: str = ""


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
        support_policy: Callable[[], Policy],
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
        self.support_policy = support_policy  # the live policy.yaml: calendar, outcomes
        self.clock = clock
        self.on_commit = on_commit
        self.lifecycle = lifecycle  # the SLA clock, status timers and surveys
        self.words = Words(policy.locale, policy.zone)
        self.mailer = Mailer(templates, self.words)

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
                if not ReceiptLedger(session).seen(steps.dedup_key(msg)):
                    raise
            log.info(
                "concurrent redelivery of %s: duplicate",
                msg.message_id,
                extra={"message_id": msg.message_id, "outcome": Outcome.DUPLICATE.value},
            )
            return Receipt(msg.message_id, Outcome.DUPLICATE, None, "concurrent redelivery")
        log.info(
            "%s %s from %s: %s%s (%s)",
            channel,
            msg.message_id or f"sha256:{raw_sha[:12]}",
            msg.sender.address if msg.sender else "?",
            receipt.outcome.value,
            f" {receipt.ticket}" if receipt.ticket else "",
            receipt.reason,
            extra={
                "message_id": msg.message_id,
                "ticket": receipt.ticket,
                "channel": channel,
                "outcome": receipt.outcome.value,
            },
        )
        if receipt.outcome is not Outcome.DUPLICATE:
            self.on_commit()
        return receipt

    def _decide_and_commit(self, msg: ParsedMessage, channel: str) -> Receipt:
        now = self.clock.now()  # one instant for the whole decision
        # One directory, rule set and policy per message, taken before the transaction (a
        # reload may queue an admin alert in its own): a swap never lands half-way.
        directory, rules, live = self.directory(), self.rules(), self.support_policy()
        with self.db.transaction() as session:
            facts = StoreFacts(
                session, self.policy, directory, self.tokens, now, rules, live, self.lifecycle
            )
            decision = steps.run(msg, facts)
            ledger = ReceiptLedger(session)
            key = steps.dedup_key(msg)
            if decision.outcome is Outcome.DUPLICATE:
                earlier = ledger.outcome_of(key)
                ticket = earlier.ticket if earlier else None
                return Receipt(msg.message_id, Outcome.DUPLICATE, ticket, decision.reason)
            ports = Ports(
                tickets=TicketRepository(session),
                mail=SessionMail(self.mailer, session),
                lifecycle=SessionLifecycle(self.lifecycle, session),
                tokens=self.tokens,
                # Dates in the ticket's zone (the live policy's business calendar), labels
                # from the live labels.yaml.
                words=self.lifecycle.parts.words(live.calendar.zone),
                support_addresses=self.policy.support_addresses,
            )
            ticket = carry_out(decision, Job(msg, directory, now, ports))
            ledger.record(
                dedup_key=key,
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
