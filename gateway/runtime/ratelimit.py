"""How often one link or one client address may ask for a page: a sliding window in memory.

The customer pages are few and cheap, so a small in-process limiter is enough: it keeps
the instants of the last requests per key and refuses once a window holds `limit`. It is
per process and forgets on restart (unlike the mail limits, which live in the database):
it only has to stop a script hammering one link or trying tokens from one address.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

MAX_KEYS = 10_000  # forget the quietest keys beyond this, so memory stays bounded


class SlidingWindow:
    """At most `limit` hits per key in any `window` seconds."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float]) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}

    def allow(self, key: str) -> bool:
        """Count a hit for `key`; False (not counted) when its window is full."""
        now = self._clock()
        hits = self._hits.get(key)
        if hits is None:
            if len(self._hits) >= MAX_KEYS:
                self._forget(now)
            hits = self._hits[key] = deque()
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            return False
        hits.append(now)
        return True

    def _forget(self, now: float) -> None:
        """Drop keys whose hits are all out of the window, else the oldest half."""
        stale = [k for k, h in self._hits.items() if not h or h[-1] <= now - self.window]
        for key in stale or sorted(self._hits, key=lambda k: self._hits[k][-1])[: MAX_KEYS // 2]:
            del self._hits[key]
