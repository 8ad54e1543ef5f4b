"""Where "now" comes from: injected everywhere, so time-dependent code is testable."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """The one source of the current instant; only the edges and use cases ask it."""

    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class FixedClock:
    """Always the given instant; `scheduler run-once --now` and tests use it."""

    instant: datetime

    def now(self) -> datetime:
        return self.instant
