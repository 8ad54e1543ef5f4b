"""What every lifecycle step is handed: the gateway's parts, and one transaction's session,
policy and instant.

The facade (gateway/lifecycle/actions.py) builds one `Step` per call from intake, the
survey pages or the sweeper; clock.py, replies.py, customer_mail.py, notices.py and
timers.py take it instead of the same half-dozen arguments each; a timer's effect takes
a `Firing`, the step plus the timer and the ticket's clock as the sweep found it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from gateway.domain import Directory, TicketRecord
from gateway.domain.labels import LabelTable
from gateway.domain.policy import Policy
from gateway.domain.signing import ReplyTokens
from gateway.lifecycle.sla import ClockState
from gateway.lifecycle.surveys import SurveyLinks
from gateway.lifecycle.ticket_links import TicketLinks
from gateway.mail.agent_mail import AgentMail
from gateway.mail.labels import BUILTIN_LABELS, Words
from gateway.mail.letters import Letter, Mailer
from storage.lifecycle import LifecycleStore
from storage.records import TimerRecord
from storage.repository import TicketRepository

SCHEDULER = "scheduler"  # the actor of what a timer does
GATEWAY = "ticketgate"  # the actor of what the gateway records on its own
STALE = "stale"  # what a timer reports when the ticket moved on since it was set


@dataclass(frozen=True)
class LifecycleParts:
    """The long-lived collaborators, built once in gateway/runtime/app.py."""

    tokens: ReplyTokens
    links: SurveyLinks
    ticket_links: TicketLinks
    policy: Callable[[], Policy]
    directory: Callable[[], Directory]
    locale: str
    support_address: str
    mailer: Mailer
    labels: Callable[[], LabelTable] = lambda: BUILTIN_LABELS  # the live labels.yaml

    def words(self, zone: ZoneInfo) -> Words:
        """The locale's words with the admin's labels, dates in `zone`."""
        return Words(self.locale, zone, self.labels())


@dataclass(frozen=True)
class Step:
    """One lifecycle step inside the caller's transaction; it never commits."""

    parts: LifecycleParts
    session: Session
    policy: Policy  # read once per step, so one step sees one policy
    now: datetime

    @property
    def words(self) -> Words:
        """Labels and dates in the locale, shown in the business calendar's zone."""
        return self.parts.words(self.policy.calendar.zone)

    @property
    def store(self) -> LifecycleStore:
        return LifecycleStore(self.session)

    @property
    def tickets(self) -> TicketRepository:
        return TicketRepository(self.session)

    @property
    def agent_mail(self) -> AgentMail:
        """What an agent notification from the lifecycle needs (gateway/mail/agent_mail.py)."""
        parts = self.parts
        return AgentMail(parts.directory(), parts.tokens, self.words, parts.support_address)

    def queue(self, letter: Letter) -> None:
        """Queue a mail in this step's transaction, sent from the support address."""
        self.parts.mailer.queue(self.session, self.parts.support_address, letter, self.now)


@dataclass(frozen=True)
class Firing:
    """A claimed timer about to take effect (gateway/lifecycle/timers.py)."""

    step: Step
    timer: TimerRecord
    fields: TicketRecord  # the ticket's clock, read under lock
    state: ClockState  # the same, as the pure lifecycle sees it
