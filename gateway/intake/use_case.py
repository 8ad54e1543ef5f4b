"""The intake use case: raw bytes in, one decision committed with its outbox rows.

Every inbound path (SMTP, IMAP, `ingest`) calls `Intake.receive`. It stores
the raw bytes and attachments durably first, parses once, runs the pipeline
(steps.py) inside one transaction, carries out the decision's effects
(effects.py) through ports bound to that transaction (store.py), records the
receipt and commits. Only then does the caller answer 250, move the IMAP
message or print the outcome.

Mail that arrives together is committed together (`prepare`, then
`commit_batch`): one transaction for the batch instead of one per message,
the same decisions in the same order. If any message in it fails, the batch
is rolled back whole and each message is committed again alone, so one bad
message costs the others a retry, never their mail.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import IO

from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm import Session

from gateway.domain import Clock, Directory, Envelope, Outcome, ParsedMessage, ReceivedMail
from gateway.domain.flood import QuarantineState
from gateway.domain.policy import Policy
from gateway.domain.signing import ReplyTokens
from gateway.domain.storable import storable_message
from gateway.intake import steps
from gateway.intake.body_gate import body_needed
from gateway.intake.effects import carry_out
from gateway.intake.ports import Job, Ports
from gateway.intake.receipt import Receipt, quarantine_unparseable
from gateway.intake.store import (
    IntakePolicy,
    SessionHeld,
    SessionLifecycle,
    SessionMail,
    StoreFacts,
    record_flow,
)
from gateway.lifecycle.actions import LifecycleActions
from inbound.mime import UnparseableMessage, parse_head, parse_message, parse_message_file
from rules.engine import RuleSet
from storage.blobs import BlobStore
from storage.db import Database
from storage.flow import QuarantineStore
from storage.repository import ReceiptLedger, TicketRepository

log = logging.getLogger(__name__)

__all__ = ["MAX_BATCH", "Arrival", "Intake", "IntakePolicy", "Receipt"]

# Past this size a message is judged on its header before its body is parsed, and such
# messages are parsed one at a time (a parsed tree costs a few times the message's size).
BIG_MESSAGE = 1024 * 1024
# Messages per group commit: bounds what one refused message sends back one by one.
MAX_BATCH = 64
PREPARERS = 4  # threads storing and parsing a group's messages


@dataclass(frozen=True)
class Arrival:
    """A message stored durably and parsed, waiting for its decision to be committed."""

    msg: ParsedMessage
    channel: str


@dataclass(frozen=True)
class _Live:
    """The directory, rules and policy one transaction decides with: taken before it
    begins (a reload may queue an admin alert in its own), so a swap never lands
    half-way through a message or a batch."""

    directory: Directory
    rules: RuleSet
    policy: Policy


class Intake:
    """Receives messages from any channel, alone or in batches; safe to call from threads."""

    def __init__(
        self,
        *,
        db: Database,
        blobs: BlobStore,
        policy: IntakePolicy,
        directory: Callable[[], Directory],
        rules: Callable[[], RuleSet],
        tokens: ReplyTokens,
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
        self.mailer = lifecycle.parts.mailer  # one mailer: same templates, words and limits
        self._big_messages = ThreadPoolExecutor(1, thread_name_prefix="big-mail")
        # A group's messages are stored and parsed side by side: their fsyncs overlap.
        self._preparers = ThreadPoolExecutor(PREPARERS, thread_name_prefix="prepare")

    def receive(
        self, raw: bytes, envelope: Envelope | None = None, channel: str = "smtp"
    ) -> Receipt:
        """One message alone, in its own transaction (a release, a test, a bench)."""
        arrival = self.prepare(io.BytesIO(raw), envelope, channel)
        return arrival if isinstance(arrival, Receipt) else self._commit_alone(arrival)

    def prepare(
        self, source: IO[bytes], envelope: Envelope | None = None, channel: str = "smtp"
    ) -> Arrival | Receipt:
        """Store the raw bytes and attachments and parse once: what a batch's members do
        in parallel before `commit_batch`. A message that needs no batch (unparseable, or
        big enough to be judged by its header first) is settled here and its receipt
        returned."""
        source.seek(0)
        raw_sha, size = self.blobs.put_stream(source)
        try:
            if size <= BIG_MESSAGE:
                msg = parse_message_file(source, raw_sha, size, envelope)
                return self._stored(msg, channel)
            # Big messages are parsed one at a time on one thread: four at once cost about
            # one's memory (and one malloc arena, which then reuses what the last one freed).
            return self._big_messages.submit(
                self._receive_big, source, raw_sha, size, envelope, channel
            ).result()
        except UnparseableMessage as exc:
            now = self.clock.now()
            return quarantine_unparseable(self.db, now, size, raw_sha, channel, str(exc))

    def commit_batch(self, arrivals: Sequence[Arrival]) -> list[Receipt | Exception]:
        """Decide and commit `arrivals` in one transaction, in order; each gets its receipt,
        or the error that kept it from being committed (its sender keeps the mail)."""
        if len(arrivals) <= 1:
            return [self._settle_alone(a) for a in arrivals]
        live = self._live()
        try:
            with self.db.transaction() as session:
                receipts = [
                    self._decide(session, a.msg, a.channel, self.clock.now(), live)
                    for a in arrivals
                ]
        except (OperationalError, InterfaceError) as exc:
            # The store is down or locked: no message is to blame, and trying each alone
            # would only make every sender wait once per message. All are answered 451.
            log.error("a batch of %d message(s) could not be committed: %s", len(arrivals), exc)
            return [exc] * len(arrivals)
        except Exception as exc:
            log.warning(
                "a batch of %d message(s) could not be committed (%s); each is retried alone",
                len(arrivals),
                type(exc).__name__,
            )
            return [self._settle_alone(a) for a in arrivals]
        for arrival, receipt in zip(arrivals, receipts, strict=True):
            self._log_receipt(arrival, receipt)
        if any(r.outcome is not Outcome.DUPLICATE for r in receipts):
            self.on_commit()
        return list(receipts)

    def receive_group(
        self, raws: Sequence[bytes], envelope: Envelope | None, channel: str
    ) -> list[Receipt | Exception]:
        """Several messages in hand at once (an IMAP fetch, an `ingest` batch): each stored
        and parsed, then committed together, in order; each receipt or its error. A big
        message is committed alone, after the ones before it (a reply must find the
        ticket its predecessor in the group opened)."""
        results: list[Receipt | Exception] = []
        small: list[bytes] = []

        def prepare(raw: bytes) -> Arrival | Receipt | Exception:
            try:
                return self.prepare(io.BytesIO(raw), envelope, channel)
            except Exception as exc:  # the disk failed: nothing of this one is kept
                return exc

        def commit(prepared: list[Arrival | Receipt | Exception]) -> None:
            committed = iter(self.commit_batch([p for p in prepared if isinstance(p, Arrival)]))
            results.extend(next(committed) if isinstance(p, Arrival) else p for p in prepared)

        def commit_small() -> None:
            commit(list(self._preparers.map(prepare, small)))
            small.clear()

        for raw in raws:
            if len(raw) > BIG_MESSAGE:
                commit_small()
                commit([prepare(raw)])
            else:
                small.append(raw)
        commit_small()
        return results

    def _settle_alone(self, arrival: Arrival) -> Receipt | Exception:
        try:
            return self._commit_alone(arrival)
        except Exception as exc:  # the caller answers this one 451; the others go on
            log.exception("%s %s: could not be committed", arrival.channel, arrival.msg.message_id)
            return exc

    def _receive_big(
        self, source: IO[bytes], raw_sha: str, size: int, envelope: Envelope | None, channel: str
    ) -> Receipt:
        head = parse_head(source, raw_sha, size, envelope)
        live = self._live()  # the header is judged, and the mail decided, on one snapshot
        if self._body_needed(head, live):
            msg = parse_message_file(source, raw_sha, size, envelope)
            return self._commit_alone(self._stored(msg, channel), live)
        log.info("%s sha256:%s: decided on its header alone", channel, raw_sha[:12])
        return self._commit_alone(self._stored(head, channel), live)

    def _body_needed(self, head: ParsedMessage, live: _Live) -> bool:
        with self.db.transaction() as session:
            facts = StoreFacts(
                session,
                self.policy,
                live.directory,
                self.tokens,
                self.clock.now(),
                live.rules,
                live.policy,
                self.lifecycle,
            )
            return body_needed(head, facts)

    def _stored(self, msg: ParsedMessage, channel: str) -> Arrival:
        # Text a database cannot hold is replaced before anything reads it (the raw bytes
        # stay whole in the blob store): the same on SQLite and PostgreSQL.
        msg = storable_message(msg)
        for part in msg.attachments:
            self.blobs.put(part.content)
        return Arrival(msg, channel)

    def _commit_alone(self, arrival: Arrival, live: _Live | None = None) -> Receipt:
        msg = arrival.msg
        try:
            live = live or self._live()
            with self.db.transaction() as session:
                receipt = self._decide(session, msg, arrival.channel, self.clock.now(), live)
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
        self._log_receipt(arrival, receipt)
        if receipt.outcome is not Outcome.DUPLICATE:
            self.on_commit()
        return receipt

    def _log_receipt(self, arrival: Arrival, receipt: Receipt) -> None:
        msg = arrival.msg
        log.info(
            "%s %s from %s: %s%s (%s)",
            arrival.channel,
            msg.message_id or f"sha256:{msg.raw_sha256[:12]}",
            msg.sender.address if msg.sender else "?",
            receipt.outcome.value,
            f" {receipt.ticket}" if receipt.ticket else "",
            receipt.reason,
            extra={
                "message_id": msg.message_id,
                "ticket": receipt.ticket,
                "channel": arrival.channel,
                "outcome": receipt.outcome.value,
            },
        )

    def _live(self) -> _Live:
        return _Live(self.directory(), self.rules(), self.support_policy())

    def release(self, held_id: int, by: str) -> Receipt:
        """Run a held mail through the pipeline as if it had just arrived, from its raw
        bytes; the admin vouched for it, so no flood limit holds it again (a forged or
        oversized mail is quarantined again). Its one receipt takes the new outcome."""
        with self.db.transaction() as session:
            held = QuarantineStore(session).still_held(held_id)
        envelope = Envelope(mail_from=held.mail_from, rcpt_tos=held.rcpt_tos)
        try:
            parsed = parse_message(self.blobs.get(held.raw_sha256), envelope)
        except UnparseableMessage as exc:
            raise ValueError(f"mail #{held_id} still cannot be parsed: {exc}") from exc
        # Its attachments are stored again: retention may have removed a file a ticket
        # shared with it meanwhile.
        msg = self._stored(parsed, held.channel).msg
        live = self._live()
        with self.db.transaction() as session:
            QuarantineStore(session).still_held(held_id)  # two admins at once: one wins
            now = self.clock.now()
            receipt = self._decide(session, msg, held.channel, now, live, released=(held_id, by))
        log.info("released held mail #%d by %s: %s", held_id, by, receipt.outcome.value)
        self.on_commit()
        return receipt

    def _decide(
        self,
        session: Session,
        msg: ParsedMessage,
        channel: str,
        now: datetime,
        live: _Live,
        released: tuple[int, str] | None = None,
    ) -> Receipt:
        """One message's decision and its effects, in the caller's transaction."""
        directory, rules = live.directory, live.rules
        facts = StoreFacts(
            session, self.policy, directory, self.tokens, now, rules, live.policy, self.lifecycle
        )
        if released is None:
            assessment, decision = steps.assess(msg, facts)
        else:
            assessment, decision = steps.assess(
                msg, facts, steps.RELEASED_STEPS, steps.RELEASED_GUARDS
            )
        ledger = ReceiptLedger(session)
        key = assessment.dedup_key
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
            words=self.lifecycle.parts.words(live.policy.calendar.zone),
            support_addresses=self.policy.support_addresses,
            held=SessionHeld(session, self.policy.limits),
            admins=self.policy.admins,
        )
        job = Job(msg, directory, now, ports, channel=channel, dedup_key=key)
        ticket = carry_out(decision, job)
        record_flow(session, assessment, decision, now, self.policy.limits)
        if released is not None:
            ledger.settle_again(
                key, outcome=decision.outcome, reason=decision.reason, ticket=ticket
            )
            QuarantineStore(session).settle(
                released[0],
                QuarantineState.RELEASED,
                now,
                by=released[1],
                outcome=decision.outcome.value,
            )
            return Receipt(msg.message_id, decision.outcome, ticket, decision.reason)
        ledger.record(
            ReceivedMail.of(msg, key, channel),
            outcome=decision.outcome,
            reason=decision.reason,
            ticket=ticket,
            now=now,
        )
        return Receipt(msg.message_id, decision.outcome, ticket, decision.reason)
