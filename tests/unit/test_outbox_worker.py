"""The outbox worker's retry policy, with an in-memory store and transport.

These fakes implement the worker's two ports (OutboxStore, Transport); the
real relay and database paths are covered end to end in tests/e2e and
tests/cli (relay down, crash mid-burst).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from gateway.domain import ClaimedMail
from gateway.domain.clock import FixedClock
from outbound.relay import PermanentSendError, TransientSendError
from outbound.worker import OutboxWorker, RetryPolicy

START = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@dataclass
class Row:
    mail: ClaimedMail
    status: str = "pending"
    due: datetime = START
    attempts: int = 0
    error: str = ""


@dataclass
class MemoryOutbox:
    rows: dict[int, Row] = field(default_factory=dict)
    stale_after: timedelta = timedelta(seconds=60)
    on_wire: list[int | None] = field(default_factory=list)  # `besides` of each claim

    def add(self, n: int) -> None:
        self.rows[n] = Row(ClaimedMail(n, f"<m{n}@x>", "suporte@example.com", ("a@b.c",), b"x"))

    def claim_due(self, now: datetime, limit: int, besides: int | None = None) -> list[ClaimedMail]:
        self.on_wire.append(besides)
        due = [r for r in self.rows.values() if r.status == "pending" and r.due <= now][:limit]
        for row in due:
            row.status, row.attempts = "sending", row.attempts + 1
        return [
            ClaimedMail(
                r.mail.outbox_id,
                r.mail.message_id,
                r.mail.mail_from,
                r.mail.recipients,
                r.mail.content,
                r.attempts,
            )
            for r in due
        ]

    def mark_sent(self, mail: ClaimedMail, now: datetime) -> None:
        self.rows[mail.outbox_id].status = "sent"

    def sent_then_claim(
        self, mail: ClaimedMail, now: datetime, limit: int, besides: int | None = None
    ) -> list[ClaimedMail]:
        self.mark_sent(mail, now)
        return self.claim_due(now, limit, besides)

    def release(self, mails: Sequence[ClaimedMail]) -> None:
        for mail in mails:
            row = self.rows[mail.outbox_id]
            row.status, row.attempts = "pending", row.attempts - 1

    def mark_failed(self, mail: ClaimedMail, error: str, retry_at: datetime | None) -> None:
        row = self.rows[mail.outbox_id]
        row.error = error
        if retry_at is None:
            row.status = "failed"
        else:
            row.status, row.due = "pending", retry_at


@dataclass
class ScriptedRelay:
    """Fails the first `failures` sends of each message with the given error, then accepts."""

    failures: int
    error: type[Exception] = TransientSendError
    sent: list[str] = field(default_factory=list)
    tries: dict[str, int] = field(default_factory=dict)

    async def send(self, mail: ClaimedMail) -> None:
        self.tries[mail.message_id] = self.tries.get(mail.message_id, 0) + 1
        if self.tries[mail.message_id] <= self.failures:
            raise self.error("relay says no")
        self.sent.append(mail.message_id)


def test_backoff_doubles_and_is_capped() -> None:
    policy = RetryPolicy(
        max_attempts=10, first_delay=timedelta(seconds=30), max_delay=timedelta(minutes=10)
    )
    delays = [policy.next_try(n, START) - START for n in range(1, 7)]  # type: ignore[operator]
    assert delays == [timedelta(seconds=s) for s in (30, 60, 120, 240, 480, 600)]
    assert policy.next_try(10, START) is None


def test_a_transient_failure_is_retried_later_and_sent_once() -> None:
    store, relay, clock = MemoryOutbox(), ScriptedRelay(failures=2), FixedClock(START)
    store.add(1)
    worker = OutboxWorker(store, relay, clock, RetryPolicy(first_delay=timedelta(seconds=30)))
    first = asyncio.run(worker.flush())
    assert (first.sent, first.retrying) == (0, 1)
    assert store.rows[1].due == START + timedelta(seconds=30)
    assert asyncio.run(worker.flush()).sent == 0  # not due yet: nothing is sent early
    clock.instant = START + timedelta(seconds=30)
    asyncio.run(worker.flush())
    clock.instant = START + timedelta(seconds=90)
    assert asyncio.run(worker.flush()).sent == 1
    assert relay.sent == ["<m1@x>"] and store.rows[1].status == "sent"
    assert asyncio.run(worker.flush()).sent == 0  # a sent row is never sent again


def test_after_max_attempts_the_row_is_parked_not_dropped() -> None:
    store, relay, clock = MemoryOutbox(), ScriptedRelay(failures=99), FixedClock(START)
    store.add(1)
    worker = OutboxWorker(
        store, relay, clock, RetryPolicy(max_attempts=3, first_delay=timedelta(0))
    )
    result = asyncio.run(worker.flush())  # no delay: every attempt comes due at once
    assert (result.retrying, result.failed) == (2, 1)
    assert relay.tries == {"<m1@x>": 3}
    assert store.rows[1].status == "failed" and store.rows[1].error == "relay says no"


def test_a_permanent_refusal_is_not_retried() -> None:
    store, clock = MemoryOutbox(), FixedClock(START)
    relay = ScriptedRelay(failures=1, error=PermanentSendError)
    store.add(1)
    result = asyncio.run(OutboxWorker(store, relay, clock).flush())
    assert result.failed == 1 and store.rows[1].status == "failed"
    assert relay.tries == {"<m1@x>": 1}


@dataclass
class StoppingRelay:
    """Accepts every mail; sets `stop` once `after` mails are in (a SIGTERM mid-flush)."""

    stop: asyncio.Event
    after: int
    sent: list[str] = field(default_factory=list)

    async def send(self, mail: ClaimedMail) -> None:
        self.sent.append(mail.message_id)
        if len(self.sent) == self.after:
            self.stop.set()


def test_every_mail_is_sent_once_and_recorded_while_the_next_is_claimed() -> None:
    store, relay, clock = MemoryOutbox(), ScriptedRelay(failures=0), FixedClock(START)
    for n in range(5):
        store.add(n)
    result = asyncio.run(OutboxWorker(store, relay, clock, hand=2).flush())
    assert result.sent == 5
    assert relay.sent == [f"<m{n}@x>" for n in range(5)]
    assert {r.status for r in store.rows.values()} == {"sent"}
    # The first hand (m0, m1); then, whenever under two are left in hand, a claim made
    # while a mail is on the wire, which spares that mail.
    assert store.on_wire == [None, 0, 2, 3, 4]


def test_a_hand_is_claimed_at_once_and_refilled_only_when_it_runs_low() -> None:
    store, relay, clock = MemoryOutbox(), ScriptedRelay(failures=0), FixedClock(START)
    for n in range(40):
        store.add(n)
    result = asyncio.run(OutboxWorker(store, relay, clock, hand=16).flush())
    assert result.sent == 40 and relay.sent == [f"<m{n}@x>" for n in range(40)]
    # 40 mails in hands of 16: the first claim, refills while the 15th and 31st are on the
    # wire, and the claims that find nothing left.
    assert store.on_wire[:3] == [None, 14, 30]
    assert len(store.on_wire) < 10


@dataclass
class SlowRelay:
    """Each send takes `seconds` of the test's clock (a relay answering slowly)."""

    clock: FixedClock
    seconds: int
    sent: list[tuple[str, int]] = field(default_factory=list)

    async def send(self, mail: ClaimedMail) -> None:
        self.sent.append((mail.message_id, mail.attempts))
        self.clock.instant += timedelta(seconds=self.seconds)


def test_a_claim_held_for_half_the_stale_time_is_taken_afresh_before_its_send() -> None:
    """Otherwise another worker could take it as a crashed worker's while we send it."""
    clock = FixedClock(START)
    store, relay = MemoryOutbox(stale_after=timedelta(seconds=60)), SlowRelay(clock, 20)
    for n in range(4):
        store.add(n)
    result = asyncio.run(OutboxWorker(store, relay, clock, hand=4).flush())
    assert result.sent == 4
    # m2 waited 40 s in the hand (over half of 60): handed back and claimed again, so it
    # is sent under a fresh claim; each mail goes out once, on its first try.
    assert relay.sent == [("<m0@x>", 1), ("<m1@x>", 1), ("<m2@x>", 1), ("<m3@x>", 1)]
    assert {r.status for r in store.rows.values()} == {"sent"}
    assert store.on_wire.count(None) == 2  # the first hand, and the fresh one


def test_a_stop_mid_flush_records_the_last_sent_and_hands_the_claimed_one_back() -> None:
    store, clock = MemoryOutbox(), FixedClock(START)
    for n in range(5):
        store.add(n)

    async def flush() -> StoppingRelay:
        relay = StoppingRelay(asyncio.Event(), after=2)
        await OutboxWorker(store, relay, clock).flush(relay.stop)
        return relay

    relay = asyncio.run(flush())
    assert relay.sent == ["<m0@x>", "<m1@x>"]
    statuses = [(n, r.status, r.attempts) for n, r in store.rows.items()]
    # The third was claimed while the second was on the wire: back in the queue, untried.
    assert statuses == [(0, "sent", 1), (1, "sent", 1)] + [(n, "pending", 0) for n in (2, 3, 4)]
