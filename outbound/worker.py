"""The outbox worker: drains queued mail to the relay, retrying with backoff.

Mail is queued by use cases in their own transactions; this worker claims due
entries one at a time (row locks on PostgreSQL, so several processes never
share one; a claim is never older than one send), hands each to the transport,
and records the result only if the claim is still its own. A claim left behind by
a crash is taken again after `stale_after`, so nothing queued is lost; the
resent mail keeps its Message-ID, which lets receivers drop the rare
duplicate of a send that crashed between the relay's 250 and our commit.
After `max_attempts` an entry is parked as failed instead of retried forever.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from gateway.domain import ClaimedMail, Clock
from outbound.relay import PermanentSendError, TransientSendError, Transport

log = logging.getLogger(__name__)


class OutboxStore(Protocol):
    def claim_due(self, now: datetime, limit: int) -> list[ClaimedMail]: ...

    def mark_sent(self, mail: ClaimedMail, now: datetime) -> None: ...

    def sent_then_claim(self, mail: ClaimedMail, now: datetime, limit: int) -> list[ClaimedMail]:
        """`mark_sent`, then `claim_due`, in one transaction (one commit, not two)."""
        ...

    def mark_failed(self, mail: ClaimedMail, error: str, retry_at: datetime | None) -> None: ...


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
    def __init__(
        self,
        store: OutboxStore,
        transport: Transport,
        clock: Clock,
        retry: RetryPolicy = RetryPolicy(),
        batch: int = 1,
    ) -> None:
        self.store = store
        self.transport = transport
        self.clock = clock
        self.retry = retry
        self.batch = batch

    async def flush(self, stop: asyncio.Event | None = None) -> FlushResult:
        """Send everything due now, batch by batch, until nothing is due or `stop` is set
        (checked between batches, so no claimed mail is left mid-claim; `serve` claims one
        at a time, so a shutdown waits for the mail in hand only)."""
        result = FlushResult()

        def stopped() -> bool:
            return stop is not None and stop.is_set()

        if stopped():
            return result
        claimed = await asyncio.to_thread(self.store.claim_due, self.clock.now(), self.batch)
        while claimed:
            *first, last = claimed
            for mail in first:
                await self._send_one(mail, result)
            if not await self._send_one(last, result, mark=False):
                claimed = [] if stopped() else await self._claim()
            elif stopped():
                await asyncio.to_thread(self.store.mark_sent, last, self.clock.now())
                break
            else:
                # The last mail's "sent" and the next claim share one commit.
                claimed = await asyncio.to_thread(
                    self.store.sent_then_claim, last, self.clock.now(), self.batch
                )
        return result

    async def _claim(self) -> list[ClaimedMail]:
        return await asyncio.to_thread(self.store.claim_due, self.clock.now(), self.batch)

    async def _send_one(self, mail: ClaimedMail, result: FlushResult, mark: bool = True) -> bool:
        """Send one claimed mail and record the result; True when it was sent (then,
        with `mark=False`, the caller records the "sent")."""
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
        if mark:
            await asyncio.to_thread(self.store.mark_sent, mail, self.clock.now())
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
