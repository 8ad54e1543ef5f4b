"""The outbox worker's retry policy, with an in-memory store and transport.

These fakes implement the worker's two ports (OutboxStore, Transport); the
real relay and database paths are covered end to end in tests/e2e and
tests/cli (relay down, crash mid-burst).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
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
    claimed_at: datetime | None = None
    error: str = ""


@dataclass
class MemoryOutbox:
    """The database store's rules in memory: due or stale rows are claimed (never one of
    `besides`), and only the latest claim of a row may settle it."""

    rows: dict[int, Row] = field(default_factory=dict)
    stale_after: timedelta = timedelta(seconds=60)
    claims: list[tuple[int, ...]] = field(default_factory=list)  # `besides` of each claim

    def add(self, n: int, due: datetime = START) -> None:
        mail = ClaimedMail(n, f"<m{n}@x>", "suporte@example.com", ("a@b.c",), b"x")
        self.rows[n] = Row(mail, due=due)

    def _claimable(self, row: Row, now: datetime) -> bool:
        if row.status == "pending":
            return row.due <= now
        stale = row.claimed_at is not None and row.claimed_at <= now - self.stale_after
        return row.status == "sending" and stale

    def claim_due(
        self, now: datetime, limit: int, besides: Collection[int] = ()
    ) -> list[ClaimedMail]:
        self.claims.append(tuple(besides))
        due = [r for n, r in self.rows.items() if n not in besides and self._claimable(r, now)][
            :limit
        ]
        for row in due:
            row.status, row.attempts, row.claimed_at = "sending", row.attempts + 1, now
        return [replace(r.mail, attempts=r.attempts) for r in due]

    def _mine(self, mail: ClaimedMail) -> Row | None:
        row = self.rows[mail.outbox_id]
        return row if row.status == "sending" and row.attempts == mail.attempts else None

    def mark_sent(self, mail: ClaimedMail, now: datetime) -> None:
        if row := self._mine(mail):
            row.status = "sent"

    def sent_then_claim(
        self, mail: ClaimedMail, now: datetime, limit: int, besides: Collection[int] = ()
    ) -> list[ClaimedMail]:
        self.mark_sent(mail, now)
        return self.claim_due(now, limit, besides)

    def release(self, mails: Sequence[ClaimedMail]) -> None:
        for mail in mails:
            if row := self._mine(mail):
                row.status, row.attempts, row.claimed_at = "pending", row.attempts - 1, None

    def mark_failed(self, mail: ClaimedMail, error: str, retry_at: datetime | None) -> None:
        if (row := self._mine(mail)) is None:
            return
        row.error, row.claimed_at = error, None
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
    # No delay: each try comes due at once, and is made by the next flush (a wake or the
    # interval), not again by the flush that just failed it.
    results = [asyncio.run(worker.flush()) for _ in range(4)]
    assert [(r.retrying, r.failed) for r in results] == [(1, 0), (1, 0), (0, 1), (0, 0)]
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
    # while a mail is on the wire, which spares that mail and the ones still in hand.
    assert store.claims == [(), (0, 1), (2, 3), (3, 4), (4,)]


def test_a_hand_is_claimed_at_once_and_refilled_only_when_it_runs_low() -> None:
    store, relay, clock = MemoryOutbox(), ScriptedRelay(failures=0), FixedClock(START)
    for n in range(40):
        store.add(n)
    result = asyncio.run(OutboxWorker(store, relay, clock, hand=16).flush())
    assert result.sent == 40 and relay.sent == [f"<m{n}@x>" for n in range(40)]
    # 40 mails in hands of 16: the first claim, refills while the 15th and 31st are on the
    # wire, and the claims that find nothing left.
    assert store.claims[:3] == [(), (14, 15), (30, 31)]
    assert len(store.claims) < 10


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
    assert store.claims.count(()) == 2  # the first hand, and the fresh one


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


@dataclass
class BurstDuringASlowSend:
    """The first send takes 50 s; the mail queued meanwhile is claimed while it is on the
    wire (the claim waits for the burst, then the send for the claim); then 1 s a send."""

    store: MemoryOutbox
    clock: FixedClock
    burst: int
    sent: list[int] = field(default_factory=list)
    queued: threading.Event = field(default_factory=threading.Event)

    async def send(self, mail: ClaimedMail) -> None:
        self.sent.append(mail.outbox_id)
        if len(self.sent) == 1:
            for n in range(1, self.burst + 1):
                self.store.add(n)
            self.queued.set()
            await asyncio.to_thread(self.store.claimed.wait, 5)
            self.clock.instant += timedelta(seconds=50)
        else:
            self.clock.instant += timedelta(seconds=1)


@dataclass
class GatedOutbox(MemoryOutbox):
    """Its second claim waits until the relay has queued the burst."""

    gate: threading.Event | None = None
    claimed: threading.Event = field(default_factory=threading.Event)

    def claim_due(
        self, now: datetime, limit: int, besides: Collection[int] = ()
    ) -> list[ClaimedMail]:
        if self.claims and self.gate is not None and not self.claimed.is_set():
            self.gate.wait(5)
            try:
                return super().claim_due(now, limit, besides)
            finally:
                self.claimed.set()
        return super().claim_due(now, limit, besides)


def test_a_claim_that_ages_in_hand_is_never_sent_twice() -> None:
    """A hand claimed during a slow send is as old as its claim, not as the send's end; and
    the worker never takes its own hand again as a stale claim."""
    clock = FixedClock(START)
    store = GatedOutbox()
    store.add(0)
    relay = BurstDuringASlowSend(store, clock, burst=16)
    store.gate = relay.queued
    result = asyncio.run(OutboxWorker(store, relay, clock, hand=16).flush())
    assert sorted(relay.sent) == list(range(17)), relay.sent  # each exactly once
    assert result.sent == 17
    assert {r.status for r in store.rows.values()} == {"sent"}
    assert all(r.attempts == 1 for r in store.rows.values())
