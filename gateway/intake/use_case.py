"""The intake use case: raw bytes in, one decision committed with its outbox rows.

Every inbound path (SMTP, IMAP, `ingest`) calls `Intake.receive`. It stores
the raw bytes and attachments durably first, parses once, runs the pipeline
(steps.py) inside one transaction, carries out the decision's effects
(effects.py) through ports bound to that transaction (store.py), records the
receipt and commits. Only then does the caller answer 250, move the IMAP
message or print the outcome.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import IO

from sqlalchemy.exc import IntegrityError

from gateway.domain import Clock, Directory, Envelope, Outcome, ParsedMessage, TicketRef
from gateway.domain.policy import Policy
from gateway.domain.signing import ReplyTokens
from gateway.intake import steps
from gateway.intake.body_gate import body_needed
from gateway.intake.effects import carry_out
from gateway.intake.ports import Job, Ports
from gateway.intake.store import IntakePolicy, SessionLifecycle, SessionMail, StoreFacts
from gateway.lifecycle.actions import LifecycleActions
from gateway.mail.labels import Words
from gateway.mail.letters import Mailer
from inbound.mime import UnparseableMessage, parse_head, parse_message_file
from outbound.compose import Templates
from rules.engine import RuleSet
from storage.blobs import BlobStore
from storage.db import Database
from storage.repository import ReceiptLedger, TicketRepository

log = logging.getLogger(__name__)

__all__ = ["Intake", "IntakePolicy", "Receipt"]

# Past this size a message is judged on its header before its body is parsed, and such
# messages are parsed one at a time (a parsed tree costs a few times the message's size).
BIG_MESSAGE = 1024 * 1024


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
        self.mailer = Mailer(templates, self.words, lifecycle.parts.ticket_links.status_url)
        self._big_messages = ThreadPoolExecutor(1, thread_name_prefix="big-mail")

    def receive(
        self, raw: bytes, envelope: Envelope | None = None, channel: str = "smtp"
    ) -> Receipt:
        return self.receive_file(io.BytesIO(raw), envelope, channel)

    def receive_file(
        self, source: IO[bytes], envelope: Envelope | None = None, channel: str = "smtp"
    ) -> Receipt:
        """Receive a message from a file (the SMTP spool): stored and parsed in chunks."""
        source.seek(0)
        raw_sha, size = self.blobs.put_stream(source)
        try:
            if size <= BIG_MESSAGE:
                return self._receive_parsed(
                    parse_message_file(source, raw_sha, size, envelope), channel
                )
            # Big messages are parsed one at a time on one thread: four at once cost about
            # one's memory (and one malloc arena, which then reuses what the last one freed).
            return self._big_messages.submit(
                self._receive_big, source, raw_sha, size, envelope, channel
            ).result()
        except UnparseableMessage as exc:
            return self._quarantine_unparseable(size, raw_sha, channel, str(exc))

    def _receive_big(
        self, source: IO[bytes], raw_sha: str, size: int, envelope: Envelope | None, channel: str
    ) -> Receipt:
        head = parse_head(source, raw_sha, size, envelope)
        if self._body_needed(head):
            return self._receive_parsed(
                parse_message_file(source, raw_sha, size, envelope), channel
            )
        log.info("%s sha256:%s: decided on its header alone", channel, raw_sha[:12])
        return self._receive_parsed(head, channel)

    def _body_needed(self, head: ParsedMessage) -> bool:
        directory, rules, live = self.directory(), self.rules(), self.support_policy()
        with self.db.transaction() as session:
            facts = StoreFacts(
                session,
                self.policy,
                directory,
                self.tokens,
                self.clock.now(),
                rules,
                live,
                self.lifecycle,
            )
            return body_needed(head, facts)

    def _receive_parsed(self, msg: ParsedMessage, channel: str) -> Receipt:
        raw_sha = msg.raw_sha256
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
        self, size: int, raw_sha: str, channel: str, reason: str
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
                    size=size,
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
