"""Clocks to inject: the system clock in production, a fixed one for time travel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class FixedClock:
    """Always the given instant; `scheduler run-once --now` and tests use it."""

    instant: datetime

    def now(self) -> datetime:
        return self.instant
