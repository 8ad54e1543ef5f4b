"""The pipeline's one port to the world: read-only questions answered in the transaction.

Steps (steps.py) ask; the use case answers from its open session
(store.py), and unit tests answer from plain dicts. Nothing here writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from gateway.domain import Directory, TicketRef, TicketSnapshot, TriageInput, TriageOutcome
from gateway.domain.commands import CommandTerms
from gateway.domain.flood import Counter, FloodLimits, Hold, HoldSource
from inbound.thread_match import MessageIndex, TokenVerifier


class Facts(MessageIndex, Protocol):
    """What the pipeline may ask about the world; answered inside the transaction."""

    directory: Directory
    tokens: TokenVerifier
    support_addresses: Sequence[str]
    trusted_authserv_ids: Sequence[str]
    max_message_bytes: int
    customer_escalation_phrases: Sequence[str]  # policy.yaml: a customer asks for escalation
    flood_limits: FloodLimits  # [limits]: loops and floods

    def count(self, counter: Counter, key: str, window: timedelta) -> int:
        """How many marks of `counter` for `key` the store holds within `window` before
        the decision's instant (this mail not included)."""
        ...

    def active_hold(self, *sources: tuple[HoldSource, str]) -> Hold | None:
        """The cool-down at the decision's instant of the first of `sources` (what, key)
        in one, if any (asked together: one question to the store)."""
        ...

    def already_received(self, dedup_key: str) -> bool: ...

    def ticket(self, ref: TicketRef) -> TicketSnapshot | None: ...

    def ref_for_sent_message_id(self, message_id: str) -> TicketRef | None: ...

    def rejections_recently_sent_to(self, address: str) -> int: ...

    def triage(self, subject: TriageInput) -> TriageOutcome: ...

    def local_now(self) -> datetime: ...

    def in_business_hours(self) -> bool: ...

    def command_terms(self) -> CommandTerms:
        """What agent commands are read against: the live policy's calendar and outcomes,
        and the decision's instant."""
        ...

    def follow_up_triage(self, ref: TicketRef, new_text: str) -> TriageOutcome | None:
        """For a customer's reply to a closed ticket that must open a new one (seed 002),
        the triage the follow-up inherits; None when the reply threads as usual."""
        ...
