"""The sweep: fires every lifecycle timer due at an instant, each in its own transaction.

`serve` runs `Sweeper.run_once` every few seconds on APScheduler's thread
(gateway/runtime/scheduler.py); `ticketgate scheduler run-once --now ISO` runs it once
as of any instant (time travel for tests, catching up for operators). Each timer is its
own short transaction: claim the due row (SKIP LOCKED on PostgreSQL, so two processes
never take the same one), mark it fired, carry it out through the facade's `fire`
(gateway/lifecycle/timers.py) with its mail queued, commit. A timer that fired is never
pending again, so a second sweep at the same instant sends nothing.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from gateway.domain import Clock
from gateway.lifecycle.actions import LifecycleActions
from storage.db import Database
from storage.lifecycle import LifecycleStore

log = logging.getLogger(__name__)

BATCH = 200
MAX_PASSES = 20  # a fired timer may make another one due at once (auto-resolve, then ...)


@dataclass
class SweepResult:
    fired: Counter[str] = field(default_factory=Counter)
    failed: int = 0

    @property
    def total(self) -> int:
        return sum(self.fired.values())


class Sweeper:
    """Fires every pending timer due at `now`, one transaction each."""

    def __init__(self, db: Database, actions: LifecycleActions, clock: Clock) -> None:
        self.db = db
        self.actions = actions
        self.clock = clock

    def run_once(self, now: datetime | None = None) -> SweepResult:
        now = now or self.clock.now()
        result = SweepResult()
        failed: set[int] = set()
        for _ in range(MAX_PASSES):
            with self.db.transaction() as session:
                due = [
                    i
                    for i in LifecycleStore(session).due_timer_ids(now, BATCH + len(failed))
                    if i not in failed
                ]
            if not due:
                break
            for timer_id in due:
                try:
                    outcome = self._fire(timer_id, now)
                except Exception:
                    log.exception("timer %d failed; it stays pending for the next sweep", timer_id)
                    failed.add(timer_id)
                    result.failed += 1
                    continue
                if outcome is not None:
                    result.fired[outcome] += 1
        if result.total or result.failed:
            log.info(
                "sweep at %s: %s%s",
                now.isoformat(timespec="seconds"),
                ", ".join(f"{n} {what}" for what, n in sorted(result.fired.items())) or "nothing",
                f", {result.failed} failed" if result.failed else "",
            )
        return result

    def _fire(self, timer_id: int, now: datetime) -> str | None:
        with self.db.transaction() as session:
            timer = LifecycleStore(session).claim_timer(
                timer_id, now, skip_locked=self.db.is_postgres
            )
            if timer is None:
                return None  # another sweep took it
            return self.actions.fire(session, timer, now)
