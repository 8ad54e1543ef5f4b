"""Who does what among the processes of one store: one `serve` per SQLite folder, and
one outbox sender per store, elected through the "outbox" lease.

`serve`'s workers (`[smtp] workers`) and several instances on PostgreSQL all
receive mail, but only the holder of the outbox lease sends it; the others ask
for the lease every `interval` seconds, so a dead sender is replaced within
about a second (its lease dies with its process: storage/leases.py). A commit
wakes the sender of its own process at once; mail committed by another process
is found by the sender's poll, every `interval` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os

from gateway.config.settings import Settings
from gateway.runtime.outbox_store import DatabaseOutboxStore
from outbound.worker import OutboxWorker
from storage.leases import Lease

log = logging.getLogger("ticketgate")

ALONE_POLL = 2.0  # seconds between outbox polls when every commit is this process's own
SHARED_POLL = 0.5  # ... when other processes commit mail too (workers, PostgreSQL instances)


def hold_sqlite_lock(settings: Settings) -> int | None:
    """One `serve` per SQLite folder (its workers are children of that one `serve`): the
    lease files and the outbox's crash recovery below rely on it."""
    if not settings.storage_url.startswith("sqlite"):
        return None
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(settings.data_dir / "serve.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise SystemExit(
            f"another `ticketgate serve` is using {settings.data_dir}; stop it first "
            "(SQLite serves one process; use PostgreSQL to run several)"
        ) from None
    return fd


async def lead_outbox(
    outbox: OutboxWorker,
    store: DatabaseOutboxStore,
    lease: Lease,
    stop: asyncio.Event,
    wake: asyncio.Event,
    interval: float,
) -> None:
    """Send due mail while this process holds `lease`: whenever woken by a commit, and
    every `interval` seconds. The lease is checked at most once an `interval` (a commit
    wake costs no database round trip); without it, wakes are ignored and the lease is
    asked for again every `interval`."""
    loop = asyncio.get_running_loop()
    leading, checked_at = False, float("-inf")
    while not stop.is_set():
        wake.clear()
        try:
            if not leading or loop.time() - checked_at >= interval:
                took = await asyncio.to_thread(lease.try_acquire)
                checked_at = loop.time()
                if took and not leading:
                    await asyncio.to_thread(_requeue_orphans, store)
                leading = took
            if leading:
                await outbox.flush(stop)
        except Exception:
            log.exception("outbox flush failed; will try again")
        waiters = [asyncio.ensure_future(stop.wait())]
        if leading:
            waiters.append(asyncio.ensure_future(wake.wait()))
        await asyncio.wait(waiters, timeout=interval, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await waiter


def _requeue_orphans(store: DatabaseOutboxStore) -> None:
    """On taking the lease over SQLite, mail left `sending` is a dead sender's (the lease
    is an flock, held until its holder's process ends), so it goes back in the queue now.
    On PostgreSQL a holder whose connection broke may still be mid-send: its claims wait
    out `stale_after` instead, never taken from a live sibling."""
    if store.db.is_postgres:
        return
    if released := store.release_own_claims():
        log.info("re-queued %d outbox mail(s) a previous sender left mid-send", released)
