"""The lifecycle's one door: intake, the survey and ticket pages and the sweeper call
`LifecycleActions`.

A thin facade, built once in gateway/runtime/app.py. Each method reads the live policy
once, wraps the caller's session and instant in a `Step` (gateway/lifecycle/step.py) and
hands it to the module that does the work: clock.py (the SLA clock and status changes),
replies.py (a customer's reply, the survey's answers, the approval of a solution),
escalation.py (a customer's request for the next level), timers.py (a fired timer),
which queue their mail through customer_mail.py and notices.py. It never commits and never
does I/O beyond the session; "now" is handed in.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from gateway.domain import Directory, TicketRef, TicketStatus, Triage, TriageOutcome
from gateway.domain.customer_intent import Verdict
from gateway.domain.labels import LabelTable
from gateway.domain.policy import Policy
from gateway.domain.signing import ReplyTokens
from gateway.lifecycle import clock, escalation, replies, timers
from gateway.lifecycle.escalation import EscalationOutcome
from gateway.lifecycle.sla import ReplyEffect
from gateway.lifecycle.step import LifecycleParts, Step
from gateway.lifecycle.surveys import SurveyAnswer, SurveyLinks
from gateway.lifecycle.ticket_links import TicketLinks
from gateway.mail.labels import BUILTIN_LABELS
from gateway.mail.letters import Mailer
from storage.records import TimerRecord


class LifecycleActions:
    """The lifecycle's use-case steps; one instance per gateway, stateless between calls."""

    def __init__(
        self,
        *,
        tokens: ReplyTokens,
        links: SurveyLinks,
        ticket_links: TicketLinks,
        policy: Callable[[], Policy],
        directory: Callable[[], Directory],
        locale: str,
        support_address: str,
        mailer: Mailer,
        labels: Callable[[], LabelTable] = lambda: BUILTIN_LABELS,
    ) -> None:
        self.parts = LifecycleParts(
            tokens=tokens,
            links=links,
            ticket_links=ticket_links,
            policy=policy,
            directory=directory,
            locale=locale,
            support_address=support_address,
            mailer=mailer,
            labels=labels,
        )

    def _step(self, session: Session, now: datetime) -> Step:
        return Step(self.parts, session, self.parts.policy(), now)

    # --- intake's hooks ---------------------------------------------------------------------

    def initial_dues(
        self, now: datetime, triage: Triage, organization: str | None
    ) -> tuple[datetime | None, datetime | None]:
        """First-response and resolution due times of a ticket opened now (for the ack)."""
        return clock.initial_dues(self.parts.policy(), now, triage, organization)

    def on_created(
        self, session: Session, ref: TicketRef, linked_from: TicketRef | None, now: datetime
    ) -> None:
        """Start the SLA clock and its timers; tie a follow-up ticket to the closed one."""
        clock.on_created(self._step(session, now), ref, linked_from)

    def follow_up_triage(self, session: Session, ref: TicketRef, text: str) -> TriageOutcome | None:
        """The triage of a new ticket linked to closed `ref` that the customer's reply `text`
        opens; None when it answers the open survey, the policy reopens, or `ref` is open."""
        return replies.follow_up_triage(session, self.parts.policy(), ref, text)

    def customer_replied(
        self, session: Session, ref: TicketRef, text: str, sender: str, now: datetime
    ) -> ReplyEffect:
        """A customer's message threaded into `ref`: answer the survey, reopen, or restart
        the next-response clock."""
        return replies.customer_replied(self._step(session, now), ref, text, sender)

    def customer_phrases(self) -> tuple[str, ...]:
        """The phrases with which a customer's mail asks for escalation (policy.yaml)."""
        return self.parts.policy().customer_escalation_phrases

    def customer_escalation(
        self,
        session: Session,
        ref: TicketRef,
        now: datetime,
        *,
        actor: str,
        author: str,
        channel: str,
        text: str,
    ) -> EscalationOutcome:
        """The customer asks for the next level (by mail or link): one step up the queue
        chain with that level told, at most once per window; always recorded and answered."""
        return escalation.customer_escalation(
            self._step(session, now), ref, actor=actor, author=author, channel=channel, text=text
        )

    def agent_responded(self, session: Session, ref: TicketRef, now: datetime, actor: str) -> None:
        """A public answer from an agent: meets the first/next response targets (recording
        `first_response` the first time) and takes a NEW ticket to OPEN."""
        clock.agent_responded(self._step(session, now), ref, actor)

    def change_status(
        self,
        session: Session,
        ref: TicketRef,
        new: TicketStatus,
        now: datetime,
        *,
        actor: str,
        cause: str,
        notify: bool = True,
    ) -> TicketStatus:
        """Move a ticket to `new` (pausing or resuming the SLA clock) and tell the customer;
        returns the status it had."""
        return clock.change_status(
            self._step(session, now), ref, new, actor=actor, cause=cause, notify=notify
        )

    def recompute(self, session: Session, ref: TicketRef, now: datetime) -> None:
        """Re-derive due times and timers, e.g. after a priority or category change."""
        clock.recompute(self._step(session, now), ref)

    def next_step(self, status: TicketStatus, now: datetime) -> str:
        """What a customer is told happens next when a ticket enters `status` now."""
        policy = self.parts.policy()
        after = {
            TicketStatus.WAITING_CUSTOMER: policy.resolve_after,
            TicketStatus.RESOLVED: policy.close_after,
        }.get(status)
        deadline = after.after(policy.calendar, now) if after else None
        words = self.parts.words(policy.calendar.zone)
        return words.next_step(status.value, deadline, after)

    # --- the survey pages ------------------------------------------------------------------

    def record_survey_answer(
        self,
        session: Session,
        survey_id: int,
        ref: TicketRef,
        answer: SurveyAnswer,
        channel: str,
        actor: str,
        now: datetime,
    ) -> None:
        """Store what a reply or a one-click link answered."""
        replies.record_survey_answer(
            self._step(session, now), survey_id, ref, answer, channel, actor
        )

    # --- the ticket pages -------------------------------------------------------------------

    def answer_resolution(
        self,
        session: Session,
        ref: TicketRef,
        verdict: Verdict,
        now: datetime,
        *,
        channel: str,
        actor: str,
    ) -> bool:
        """The customer approves a resolved ticket's solution (it closes) or says it is not
        solved (it reopens); False, changing nothing, when it is no longer resolved."""
        return replies.answer_resolution(
            self._step(session, now), ref, verdict, channel=channel, actor=actor
        )

    # --- the sweeper -----------------------------------------------------------------------

    def fire(self, session: Session, timer: TimerRecord, now: datetime) -> str:
        """Carry out one claimed timer; returns what it did (for logs and run-once)."""
        return timers.fire(self._step(session, now), timer)
