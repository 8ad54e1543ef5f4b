"""The outbox worker: drains queued mail to the relay, retrying with backoff.

Mail is queued by use cases in their own transactions; this worker claims due
entries a hand at a time (row locks on PostgreSQL, so several processes never
share one), hands each to the transport, and records the result only if the
claim is still its own. One mail is on the wire at a time; while it is, the
previous mail's "sent" is committed (and, when the hand runs low, more are
claimed, never one of its own), so the commit and the relay's round trip
overlap. A claim held for half the store's `stale_after` (counted from the claim
itself) is handed back and taken afresh before its mail is sent, so no other
worker can take it as a crashed one's while a send within the relay's timeout
lasts. A
claim left behind by a crash is taken again after `stale_after`, so nothing
queued is lost; the resent mail keeps its Message-ID, which lets receivers
drop the rare duplicate of a send that crashed between the relay's 250 and our
commit (at most two per crash: the mail on the wire and the one before it; the
rest of the hand was never sent). After `max_attempts` an entry is parked as
failed instead of retried forever.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from gateway.domain import ClaimedMail, Clock
from outbound.relay import PermanentSendError, TransientSendError, Transport

log = logging.getLogger(__name__)


class OutboxStore(Protocol):
    stale_after: timedelta  # a claim this old is taken as a crashed worker's

    def claim_due(
        self, now: datetime, limit: int, besides: Collection[int] = ()
    ) -> list[ClaimedMail]:
        """Due mail, claimed; never one of `besides`, the caller's own claims (on the wire
        or in hand), however old they have grown."""
        ...

    def mark_sent(self, mail: ClaimedMail, now: datetime) -> None: ...

    def sent_then_claim(
        self, mail: ClaimedMail, now: datetime, limit: int, besides: Collection[int] = ()
    ) -> list[ClaimedMail]:
        """`mark_sent`, then `claim_due`, in one transaction (one commit, not two)."""
        ...

    def mark_failed(self, mail: ClaimedMail, error: str, retry_at: datetime | None) -> None: ...

    def release(self, mails: Sequence[ClaimedMail]) -> None:
        """Hand claimed mail that was not sent back to the queue, in one transaction."""
        ...


@dataclass
class FlushResult:
    sent: int = 0
    retrying: int = 0
    failed: int = 0


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 10
    first_delay: timedelta = timedelta(seconds=30)
    max_delay: timedelta = timedelta(hours=1)

    def next_try(self, attempts: int, now: datetime) -> datetime | None:
        """When to try again after `attempts` failures, or None to give up."""
        if attempts >= self.max_attempts:
            return None
        delay = min(self.first_delay * (2 ** (attempts - 1)), self.max_delay)
        return now + delay


class OutboxWorker:
    """Sends one mail at a time from a hand of claimed ones; its "sent" is recorded
    while the next is on the wire."""

    def __init__(
        self,
        store: OutboxStore,
        transport: Transport,
        clock: Clock,
        retry: RetryPolicy = RetryPolicy(),
        hand: int = 16,
    ) -> None:
        self.store = store
        self.transport = transport
        self.clock = clock
        self.retry = retry
        self.hand = hand  # mails claimed at once: one claim statement serves many sends

    async def flush(self, stop: asyncio.Event | None = None) -> FlushResult:
        """Send everything due now, until nothing is due or `stop` is set (checked after
        each send: the mail on the wire is finished and recorded, the mail claimed but
        not yet sent go back to the queue)."""
        result = FlushResult()

        def stopping() -> bool:
            return stop is not None and stop.is_set()

        if stopping():
            return result
        hand: deque[tuple[ClaimedMail, datetime]] = deque()  # each with its claim's time
        sent: ClaimedMail | None = None  # sent, its "sent" not committed yet
        claimed_at, claimed = await asyncio.to_thread(self._book, None, self.hand, ())
        while True:
            hand.extend((mail, claimed_at) for mail in claimed)
            if not hand:
                break
            mail, since = hand.popleft()
            if self.clock.now() - since > self.store.stale_after / 2:
                # Held too long (slow sends before it): hand the claims back, and take
                # them afresh, before another sender could take them as a dead one's.
                await asyncio.to_thread(self._settle, sent, [mail, *(m for m, _ in hand)])
                hand.clear()
                sent = None
                if stopping():
                    break
                claimed_at, claimed = await asyncio.to_thread(self._book, None, self.hand, ())
                continue
            # Refill before the hand is empty, so the next claim overlaps a send too; never
            # with a mail of our own, however old its claim has grown meanwhile.
            refill = self.hand if len(hand) < 2 and not stopping() else 0
            ours = (mail.outbox_id, *(m.outbox_id for m, _ in hand))
            booking = asyncio.ensure_future(asyncio.to_thread(self._book, sent, refill, ours))
            try:
                delivered = await self._send_one(mail, result)
            finally:
                claimed_at, claimed = await booking
            sent = mail if delivered else None
            if stopping():
                hand.extend((extra, claimed_at) for extra in claimed)
                break
        await asyncio.to_thread(self._settle, sent, [held for held, _ in hand])
        return result

    def _book(
        self, sent: ClaimedMail | None, claim: int, ours: Collection[int]
    ) -> tuple[datetime, list[ClaimedMail]]:
        """Record `sent` as sent and claim up to `claim` more due mails, none of `ours`:
        one commit. Returns the claim's time with what it claimed."""
        now = self.clock.now()
        if sent is not None and claim:
            return now, self.store.sent_then_claim(sent, now, claim, besides=ours)
        if sent is not None:
            self.store.mark_sent(sent, now)
        return now, self.store.claim_due(now, claim, besides=ours) if claim else []

    def _settle(self, sent: ClaimedMail | None, unsent: Sequence[ClaimedMail]) -> None:
        if sent is not None:
            self.store.mark_sent(sent, self.clock.now())
        if unsent:
            self.store.release(unsent)

    async def _send_one(self, mail: ClaimedMail, result: FlushResult) -> bool:
        """Send one claimed mail; True when it was sent (the caller records the "sent"),
        else its failure is recorded here."""
        about = {"outbox_id": mail.outbox_id, "message_id": mail.message_id}
        try:
            await self.transport.send(mail)
        except PermanentSendError as exc:
            log.error(
                "outbox %s %s refused for good: %s",
                mail.outbox_id,
                mail.message_id,
                exc,
                extra=about,
            )
            await asyncio.to_thread(self.store.mark_failed, mail, str(exc), None)
            result.failed += 1
            return False
        except TransientSendError as exc:
            retry_at = self.retry.next_try(mail.attempts, self.clock.now())
            if retry_at is None:
                log.error(
                    "outbox %s %s failed %d times, parked as failed: %s",
                    mail.outbox_id,
                    mail.message_id,
                    mail.attempts,
                    exc,
                    extra=about,
                )
                result.failed += 1
            else:
                log.warning(
                    "outbox %s %s not sent (try %d), retrying at %s: %s",
                    mail.outbox_id,
                    mail.message_id,
                    mail.attempts,
                    retry_at.isoformat(),
                    exc,
                    extra=about,
                )
                result.retrying += 1
            await asyncio.to_thread(self.store.mark_failed, mail, str(exc), retry_at)
            return False
        log.info(
            "outbox %s sent %s to %s",
            mail.outbox_id,
            mail.message_id,
            ",".join(mail.recipients),
            extra=about,
        )
        result.sent += 1
        return True

    async def run(self, stop: asyncio.Event, wake: asyncio.Event, interval: float = 2.0) -> None:
        """Flush whenever woken by a commit, and every `interval` seconds regardless."""
        while not stop.is_set():
            wake.clear()
            try:
                await self.flush(stop)
            except Exception:
                log.exception("outbox flush failed; will try again")
            waiters = {asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())}
            _, pending = await asyncio.wait(
                waiters, timeout=interval, return_when=asyncio.FIRST_COMPLETED
            )
            for task in pending:
                task.cancel()
