"""The scheduler: the lifecycle sweep (gateway/lifecycle/sweeper.py) on APScheduler.

`serve` starts it; it runs `Sweeper.run_once` every few seconds in APScheduler's
background thread, and wakes the outbox worker when a sweep queued mail. Where
several instances share one store, only the holder of the `scheduler` lease
sweeps (storage/leases.py); when it dies another takes over at its next tick.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from apscheduler.schedulers.background import BackgroundScheduler

from gateway.domain import Clock
from gateway.lifecycle.retention import Retention
from gateway.lifecycle.sweeper import Sweeper

log = logging.getLogger(__name__)


def start_scheduler(
    sweeper: Sweeper,
    interval_seconds: float = 5.0,
    *,
    refresh: Callable[[], object] = lambda: None,
    on_fired: Callable[[], None] = lambda: None,
    is_leader: Callable[[], bool] = lambda: True,
    retention: Retention | None = None,
    prune: Callable[[], int] | None = None,
) -> BackgroundScheduler:
    """APScheduler in a background thread running the sweep on a short interval.

    `max_instances=1` and `coalesce` keep one sweep at a time in this process; the
    row claims keep several processes from doing the same work twice.
    """
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_job(
        _safe(sweeper, refresh, on_fired, is_leader),
        "interval",
        seconds=interval_seconds,
        id="lifecycle-sweep",
        max_instances=1,
        coalesce=True,
        next_run_time=sweeper.clock.now(),
    )
    if retention is not None and retention.enabled:
        scheduler.add_job(
            _purge(retention, sweeper.clock, is_leader),
            "interval",
            hours=1,
            id="retention-purge",
            max_instances=1,
            coalesce=True,
            next_run_time=sweeper.clock.now(),
        )
    if prune is not None:
        scheduler.add_job(
            _safe_prune(prune, is_leader),
            "interval",
            minutes=10,
            id="flow-prune",
            max_instances=1,
            coalesce=True,
        )
    scheduler.start()
    return scheduler


def _safe_prune(prune: Callable[[], int], is_leader: Callable[[], bool]) -> Callable[[], None]:
    def run() -> None:
        try:
            if not is_leader():
                return  # the shared table is pruned by the instance that sweeps
            forgotten = prune()
            if forgotten:
                log.info("forgot %d flood-count mark(s) older than every window", forgotten)
        except Exception:
            log.exception("pruning flood counts failed; will try again")

    return run


def _purge(
    retention: Retention, clock: Clock, is_leader: Callable[[], bool]
) -> Callable[[], None]:
    def purge() -> None:
        try:
            if not is_leader():
                return  # one instance purges the shared store
            gone = retention.purge(clock.now())
        except Exception:
            log.exception("retention purge failed; will try again in an hour")
            return
        if gone.files or gone.held:
            log.info(
                "retention: deleted %d file(s) of tickets closed long ago and %d held mail(s) "
                "released or dropped long ago",
                len(gone.files),
                gone.held,
            )

    return purge


def _safe(
    sweeper: Sweeper,
    refresh: Callable[[], object],
    on_fired: Callable[[], None],
    is_leader: Callable[[], bool],
) -> Callable[[], None]:
    def sweep() -> None:
        try:
            refresh()  # notice a policy.yaml edit even when no mail flows
            if not is_leader():
                return  # another instance sweeps
            if sweeper.run_once().total:
                on_fired()  # wake the outbox worker for the mail just queued
        except Exception:
            log.exception("lifecycle sweep failed; will try again")

    return sweep
