"""Group commit for the SMTP listener: mail that arrives together commits together.

Each connection stores and parses its message on a thread of its own
(`Intake.prepare`), then queues it here and waits. One committer takes
everything queued (at most `max_batch`) and commits it in one transaction
(`Intake.commit_batch`); while it does, the next arrivals queue up for the
following batch. No wait is added for company: a lone message is committed at
once, and under load the batches grow by themselves. Each message's answer
waits for its own batch's commit, so no 250 precedes its commit.
"""

from __future__ import annotations

import asyncio
import logging
from typing import IO

from gateway.domain import Envelope
from gateway.intake.use_case import MAX_BATCH, Arrival, Intake, Receipt

log = logging.getLogger(__name__)


class GroupCommit:
    """Batches the arrivals of one event loop; `run` is its committer task."""

    def __init__(self, intake: Intake, max_batch: int = MAX_BATCH) -> None:
        self.intake = intake
        self.max_batch = max_batch
        self._queue: list[tuple[Arrival, asyncio.Future[Receipt]]] = []
        self._ready = asyncio.Event()
        self._stopped = False

    @property
    def pending(self) -> int:
        """Messages stored and parsed, waiting for the next batch."""
        return len(self._queue)

    async def receive(self, spool: IO[bytes], envelope: Envelope, channel: str) -> Receipt:
        """The message's receipt once it is committed; raises if it could not be."""
        arrival = await asyncio.to_thread(self.intake.prepare, spool, envelope, channel)
        if isinstance(arrival, Receipt):
            return arrival
        if self._stopped:
            raise RuntimeError("the committer stopped")
        answer: asyncio.Future[Receipt] = asyncio.get_running_loop().create_future()
        self._queue.append((arrival, answer))
        self._ready.set()
        return await answer

    async def run(self) -> None:
        """Commit batches until cancelled; the caller cancels it once nothing is in hand.
        Should it stop any other way, what is still queued is answered with an error
        (a 451 the client retries), never left waiting."""
        try:
            while True:
                await self._ready.wait()
                self._ready.clear()
                while self._queue:
                    batch = self._queue[: self.max_batch]
                    del self._queue[: self.max_batch]
                    await self._commit(batch)
        finally:
            self._stopped = True
            left, self._queue = self._queue, []
            for _, answer in left:
                if not answer.done():
                    answer.set_exception(RuntimeError("the committer stopped"))

    async def _commit(self, batch: list[tuple[Arrival, asyncio.Future[Receipt]]]) -> None:
        try:
            results = await asyncio.to_thread(self.intake.commit_batch, [a for a, _ in batch])
        except Exception as exc:  # commit_batch settles each alone; this is a bug's guard
            log.exception("a batch of %d message(s) failed", len(batch))
            results = [exc] * len(batch)
        for (_, answer), result in zip(batch, results, strict=True):
            if answer.done():  # the client went away; its mail is committed all the same
                continue
            if isinstance(result, Exception):
                answer.set_exception(result)
            else:
                answer.set_result(result)
