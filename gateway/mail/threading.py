"""Which earlier messages a mail to the customer answers (RFC 5322 section 3.6.4).

The one place that picks In-Reply-To and References for customer mail:
only the ticket's public thread counts, so an internal note's Message-ID
(which names an agent's own mail) never reaches the customer's headers.
outbound/compose.py then appends In-Reply-To to References.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Thread:
    in_reply_to: str | None
    references: tuple[str, ...]


def customer_thread(public_ids: Sequence[str], answering: str | None = None) -> Thread:
    """Answer `answering` (default: the newest public message) within the public thread."""
    parent = answering or (public_ids[-1] if public_ids else None)
    return Thread(parent, tuple(mid for mid in public_ids if mid != parent))
