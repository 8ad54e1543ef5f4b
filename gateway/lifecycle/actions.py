"""Applies the lifecycle to the store, inside the caller's transaction.

Intake (a new ticket, a customer's reply) and the scheduler's sweeps (a timer
that fired) call this; it reads the ticket's clock through storage/lifecycle.py,
asks the pure functions of gateway/lifecycle.py what follows, writes the new
status, due times and pending timers, records each transition as an event
with its cause, and queues the mail it causes in the same transaction.
It never commits and never does I/O beyond the session; "now" is handed in.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from gateway.config.policy_file import Duration, Policy
from gateway.domain import (
    AuthorRole,
    Decision,
    DecisionKind,
    Directory,
    MailKind,
    TicketRef,
    TicketStatus,
    Triage,
    TriageOutcome,
)
from gateway.domain.signing import ReplyTokens
from gateway.lifecycle import sla as lifecycle
from gateway.lifecycle.sla import ClockState, ReplyEffect, Sla, TimerKind
from gateway.lifecycle.surveys import SurveyAnswer, SurveyLinks, parse_reply
from gateway.mail.letters import Letter, Mailer
from outbound.compose import Templates
from storage.lifecycle import ClockFields, FiredTimer, LifecycleStore, WantedTimer
from storage.repository import TicketRepository

log = logging.getLogger(__name__)

SCHEDULER = "scheduler"
STATUS_LABELS = {
    "pt_BR": {
        "new": "novo",
        "open": "em atendimento",
        "waiting_customer": "aguardando o seu retorno",
        "waiting_third_party": "aguardando terceiros",
        "resolved": "resolvido",
        "closed": "fechado",
    },
    "en": {
        "new": "new",
        "open": "in progress",
        "waiting_customer": "waiting for your answer",
        "waiting_third_party": "waiting for a third party",
        "resolved": "resolved",
        "closed": "closed",
    },
}
SLA_LABELS = {
    "pt_BR": {
        "first_response": "primeira resposta",
        "next_response": "próxima resposta",
        "resolution": "solução",
    },
    "en": {
        "first_response": "first response",
        "next_response": "next response",
        "resolution": "resolution",
    },
}
WHO = {
    "pt_BR": {"inbound": "Cliente", "outbound": "Suporte"},
    "en": {"inbound": "Customer", "outbound": "Support"},
}
DURATION_WORDS = {
    "pt_BR": ("dia útil", "dias úteis", "hora útil", "horas úteis"),
    "en": ("business day", "business days", "business hour", "business hours"),
}


class LifecycleActions:
    """The lifecycle's use-case steps; one instance per gateway, stateless between calls."""

    def __init__(
        self,
        *,
        templates: Templates,
        tokens: ReplyTokens,
        links: SurveyLinks,
        policy: Callable[[], Policy],
        directory: Callable[[], Directory],
        locale: str,
        support_address: str,
        mailer: Mailer,
    ) -> None:
        self.mailer = mailer
        self.templates = templates
        self.tokens = tokens
        self.links = links
        self.policy = policy
        self.directory = directory
        self.locale = locale
        self.support_address = support_address

    # --- reading and writing the clock --------------------------------------------------

    @staticmethod
    def _state(fields: ClockFields) -> ClockState:
        return ClockState(
            status=fields.status,
            priority=fields.priority,
            category=fields.category,
            organization=fields.organization,
            created_at=fields.created_at,
            status_since=fields.status_since,
            first_responded_at=fields.first_responded_at,
            awaiting_since=fields.awaiting_since,
            paused_at=fields.paused_at,
            paused_total=fields.paused,
        )

    def _save(
        self, session: Session, ref: TicketRef, state: ClockState, policy: Policy, now: datetime
    ) -> None:
        store = LifecycleStore(session)
        dues = lifecycle.compute_dues(state, policy)
        store.save_clock(
            ref,
            status=state.status,
            status_since=state.status_since,
            first_responded_at=state.first_responded_at,
            awaiting_since=state.awaiting_since,
            paused_at=state.paused_at,
            paused=state.paused_total,
            first_response_due=dues.first_response,
            next_response_due=dues.next_response,
            resolution_due=dues.resolution,
            now=now,
        )
        store.sync_timers(
            ref,
            [
                WantedTimer(t.kind.value, t.key, t.due, t.sla.value if t.sla else None, t.level)
                for t in lifecycle.desired_timers(state, policy)
            ],
            now,
        )

    def recompute(self, session: Session, ref: TicketRef, now: datetime) -> None:
        """Re-derive due times and timers, e.g. after a priority or category change."""
        fields = LifecycleStore(session).clock(ref)
        self._save(session, ref, self._state(fields), self.policy(), now)

    # --- intake's hooks ---------------------------------------------------------------------

    def initial_dues(
        self, now: datetime, triage: Triage, organization: str | None
    ) -> tuple[datetime | None, datetime | None]:
        """First-response and resolution due times of a ticket opened now (for the ack)."""
        state = lifecycle.new_ticket_state(now, triage.priority, triage.category, organization)
        dues = lifecycle.compute_dues(state, self.policy())
        return dues.first_response, dues.resolution

    def on_created(
        self, session: Session, ref: TicketRef, linked_from: TicketRef | None, now: datetime
    ) -> None:
        """Start the SLA clock and its timers; tie a follow-up ticket to the closed one."""
        store = LifecycleStore(session)
        fields = store.clock(ref)
        policy = self.policy()
        state = lifecycle.new_ticket_state(
            now, fields.priority, fields.category, fields.organization
        )
        state = replace(state, first_responded_at=fields.first_responded_at)
        # An agent opening a ticket on a contact's behalf may set its status at once.
        self._save(
            session, ref, lifecycle.transition(state, fields.status, now, policy), policy, now
        )
        if linked_from is not None:
            store.link(ref, linked_from)
            tickets = TicketRepository(session)
            tickets.record_event(ref, "linked", "ticketgate", now, linked_from=str(linked_from))
            tickets.record_event(linked_from, "linked", "ticketgate", now, linked_to=str(ref))

    def clock(self, session: Session, ref: TicketRef) -> ClockFields:
        """The ticket's clock before an agent's mail is applied (see `after_agent_update`)."""
        return LifecycleStore(session).clock(ref)

    def after_agent_update(self, session: Session, before: ClockFields, since: datetime) -> None:
        """Bring the clock in line after an agent's mail: a public answer meets the response
        targets, `#status` pauses or resumes it, `#priority`/`#category` recompute due times,
        and the customer hears of the new status."""
        store = LifecycleStore(session)
        after = store.clock(before.ref)
        policy = self.policy()
        now = since
        state = replace(
            self._state(before),
            priority=after.priority,
            category=after.category,
            organization=after.organization,
        )
        answered = store.public_outbound_since(before.ref, since)
        if answered or (after.first_responded_at is not None and before.first_responded_at is None):
            state = lifecycle.agent_responded(state, after.first_responded_at or since)
        if after.status is not before.status:
            state = lifecycle.transition(state, after.status, now, policy)
        self._save(session, before.ref, state, policy, now)
        if after.status is before.status:
            return
        if after.status is TicketStatus.CLOSED:
            self._closed(session, after, policy, "", now)
        elif (
            after.status in lifecycle.CUSTOMER_VISIBLE
            and after.status is not TicketStatus.OPEN
            and not answered  # the agent's own answer already tells the customer
        ):
            self._status_mail(session, after, state, policy, "", now)

    def route(self, session: Session, decision: Decision) -> Decision:
        """A customer's reply to a closed ticket opens a new linked ticket (unless it answers
        the survey, or the policy says reopen)."""
        if (
            decision.kind is not DecisionKind.THREAD_UPDATE
            or decision.ticket is None
            or decision.author_role not in (AuthorRole.REQUESTER, AuthorRole.CONTACT)
        ):
            return decision
        store = LifecycleStore(session)
        fields = store.clock(decision.ticket)
        effect = lifecycle.customer_reply_effect(
            fields.status,
            self.policy(),
            answers_open_survey=self._survey_answer(store, fields, decision.new_text) is not None,
        )
        if effect is not ReplyEffect.NEW_TICKET:
            return decision
        triage = Triage(
            category=fields.category,
            priority=fields.priority,
            environment=TicketRepository(session).get(fields.ref).environment,  # type: ignore[union-attr]
            queue=fields.queue,
        )
        return replace(
            decision,
            kind=DecisionKind.CREATE_TICKET,
            reason=f"reply to closed {fields.ref}: a new ticket linked to it",
            organization_id=decision.organization_id or fields.organization,
            rules=TriageOutcome(triage=triage, assignee=fields.assignee),
        )

    def customer_replied(
        self, session: Session, ref: TicketRef, text: str, sender: str, now: datetime
    ) -> ReplyEffect:
        """A customer's message threaded into `ref`: answer the survey, reopen, or restart
        the next-response clock."""
        store = LifecycleStore(session)
        fields = store.clock(ref)
        policy = self.policy()
        answer = self._survey_answer(store, fields, text)
        effect = lifecycle.customer_reply_effect(
            fields.status, policy, answers_open_survey=answer is not None
        )
        state = self._state(fields)
        if effect is ReplyEffect.SURVEY_ANSWER:
            assert answer is not None
            survey = store.latest_survey(ref)
            assert survey is not None
            self.record_survey_answer(session, survey.id, ref, answer, "reply", sender, now)
        elif effect is ReplyEffect.REOPEN:
            reopened = fields.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED)
            self._change(
                session,
                fields,
                lifecycle.customer_wrote(
                    lifecycle.transition(state, TicketStatus.OPEN, now, policy), now
                ),
                policy,
                now,
                actor=sender,
                cause="customer replied",
                notify=reopened,
            )
        else:
            self._save(session, ref, lifecycle.customer_wrote(state, now), policy, now)
        return effect

    def _survey_answer(
        self, store: LifecycleStore, fields: ClockFields, text: str
    ) -> SurveyAnswer | None:
        """The answers in a reply to a closed ticket whose survey is still unanswered."""
        if fields.status is not TicketStatus.CLOSED:
            return None
        survey = store.latest_survey(fields.ref)
        if survey is None or survey.answered_at is not None:
            return None
        answer = parse_reply(text)
        return None if answer.empty else answer

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
        LifecycleStore(session).answer_survey(
            survey_id,
            rating=answer.rating,
            met_expectation=answer.met_expectation,
            comment=answer.comment,
            channel=channel,
            now=now,
        )
        TicketRepository(session).record_event(
            ref,
            "survey_answered",
            actor,
            now,
            channel=channel,
            rating=answer.rating,
            met_expectation=answer.met_expectation,
            comment=answer.comment,
        )

    # --- status changes ------------------------------------------------------------------

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
        """Move a ticket to `new` (pausing or resuming the SLA clock) and tell the customer.

        Agents' commands call this; until they exist, tests use it to play the analyst.
        """
        policy = self.policy()
        fields = LifecycleStore(session).clock(ref)
        state = lifecycle.transition(self._state(fields), new, now, policy)
        self._change(session, fields, state, policy, now, actor=actor, cause=cause, notify=notify)
        return fields.status

    def agent_responded(self, session: Session, ref: TicketRef, now: datetime, actor: str) -> None:
        """A public answer from an agent: meets the first/next response targets."""
        policy = self.policy()
        fields = LifecycleStore(session).clock(ref)
        state = lifecycle.agent_responded(self._state(fields), now)
        if state.status is TicketStatus.NEW:
            state = lifecycle.transition(state, TicketStatus.OPEN, now, policy)
        self._save(session, ref, state, policy, now)
        if fields.first_responded_at is None:
            TicketRepository(session).record_event(ref, "first_response", actor, now)
        if fields.status is not state.status:
            TicketRepository(session).record_event(
                ref, "status_changed", actor, now, old=fields.status.value,
                new=state.status.value, cause="agent answered",
            )  # fmt: skip

    def _change(
        self,
        session: Session,
        fields: ClockFields,
        state: ClockState,
        policy: Policy,
        now: datetime,
        *,
        actor: str,
        cause: str,
        notify: bool,
    ) -> None:
        if state.status is fields.status:
            self._save(session, fields.ref, state, policy, now)
            return
        self._save(session, fields.ref, state, policy, now)
        TicketRepository(session).record_event(
            fields.ref,
            "status_changed",
            actor,
            now,
            old=fields.status.value,
            new=state.status.value,
            cause=cause,
        )
        if state.status is TicketStatus.CLOSED:
            self._closed(session, fields, policy, cause, now)
        elif notify and state.status in lifecycle.CUSTOMER_VISIBLE:
            self._status_mail(session, fields, state, policy, cause, now)

    def _status_mail(
        self,
        session: Session,
        fields: ClockFields,
        state: ClockState,
        policy: Policy,
        cause: str,
        now: datetime,
    ) -> None:
        deadline = lifecycle.resolve_deadline(state, policy)
        self._mail_customer(
            session,
            fields,
            "status_changed",
            MailKind.STATUS,
            {
                "status": state.status.value,
                "status_label": STATUS_LABELS[self.locale][state.status.value],
                "cause": self._cause_text(cause),
                "deadline": self._local(deadline) if deadline else "",
            },
            now,
        )

    def _cause_text(self, cause: str) -> str:
        if cause == "customer replied":
            return "recebemos a sua resposta" if self.locale == "pt_BR" else "we got your answer"
        return cause

    def _closed(
        self, session: Session, fields: ClockFields, policy: Policy, cause: str, now: datetime
    ) -> None:
        self._mail_customer(
            session,
            fields,
            "closed",
            MailKind.STATUS,
            {
                "cause": cause if cause != SCHEDULER else "",
                "new_ticket_on_reply": policy.reply_to_closed == "new_ticket",
            },
            now,
        )
        if not policy.survey_enabled:
            return
        store = LifecycleStore(session)
        survey_id = store.create_survey(
            fields.ref, agent=fields.assignee, queue=fields.queue, now=now
        )
        self._mail_customer(
            session,
            fields,
            "survey",
            MailKind.SURVEY,
            self.links.links(survey_id, fields.ref),
            now,
            with_history=False,
        )
        TicketRepository(session).record_event(
            fields.ref, "survey_sent", "ticketgate", now, survey=survey_id
        )

    # --- timers ----------------------------------------------------------------------------

    def fire(self, session: Session, timer: FiredTimer, now: datetime) -> str:
        """Carry out one claimed timer; returns what it did (for logs and run-once)."""
        policy = self.policy()
        fields = LifecycleStore(session).clock(timer.ref, lock=True)
        state = self._state(fields)
        kind = TimerKind(timer.kind)
        if kind is TimerKind.REMINDER:
            if fields.status is not TicketStatus.WAITING_CUSTOMER:
                return "stale"
            deadline = lifecycle.resolve_deadline(state, policy)
            self._mail_customer(
                session,
                fields,
                "reminder",
                MailKind.REMINDER,
                {
                    "since": self._local(fields.status_since),
                    "deadline": self._local(deadline) if deadline else "",
                },
                now,
            )
            TicketRepository(session).record_event(
                timer.ref, "reminder_sent", SCHEDULER, now, timer=timer.key
            )
            return "reminder"
        if kind is TimerKind.AUTO_RESOLVE:
            if fields.status is not TicketStatus.WAITING_CUSTOMER:
                return "stale"
            waited = self._duration_text(policy.resolve_after)
            resolved = lifecycle.transition(state, TicketStatus.RESOLVED, now, policy)
            self._change(
                session, fields, resolved, policy, now, actor=SCHEDULER,
                cause=f"no answer from the customer in {policy.resolve_after}", notify=False,
            )  # fmt: skip
            deadline = lifecycle.resolve_deadline(resolved, policy)
            self._mail_customer(
                session,
                fields,
                "auto_resolved",
                MailKind.STATUS,
                {"waited": waited, "deadline": self._local(deadline) if deadline else ""},
                now,
            )
            return "auto_resolved"
        if kind is TimerKind.AUTO_CLOSE:
            if fields.status is not TicketStatus.RESOLVED:
                return "stale"
            closed = lifecycle.transition(state, TicketStatus.CLOSED, now, policy)
            self._change(
                session, fields, closed, policy, now, actor=SCHEDULER,
                cause=f"no answer in {policy.close_after} after it was resolved", notify=True,
            )  # fmt: skip
            return "auto_closed"
        return self._sla_notice(session, fields, state, timer, kind, policy, now)

    def _sla_notice(
        self,
        session: Session,
        fields: ClockFields,
        state: ClockState,
        timer: FiredTimer,
        kind: TimerKind,
        policy: Policy,
        now: datetime,
    ) -> str:
        sla = Sla(timer.sla) if timer.sla else Sla.RESOLUTION
        unmet = (
            state.status in lifecycle.RUNNING
            and state.paused_at is None
            and (
                (sla is Sla.FIRST_RESPONSE and state.first_responded_at is None)
                or (sla is Sla.NEXT_RESPONSE and state.awaiting_since is not None)
                or sla is Sla.RESOLUTION
            )
        )
        if not unmet:
            return "stale"
        due = lifecycle.compute_dues(state, policy).of(sla)
        level = timer.level if kind is TimerKind.ESCALATION else 0
        recipients = lifecycle.notice_recipients(
            self.directory(), policy, queue=fields.queue, assignee=fields.assignee, level=level
        )
        event = {
            TimerKind.SLA_WARNING: "sla_warning",
            TimerKind.SLA_BREACH: "sla_breached",
            TimerKind.ESCALATION: "sla_escalated",
        }[kind]
        TicketRepository(session).record_event(
            fields.ref, event, SCHEDULER, now, sla=sla.value, level=level,
            due=due.isoformat() if due else None, notified=list(recipients),
        )  # fmt: skip
        if not recipients:
            log.warning("%s %s of %s: nobody to notify at level %d", event, sla, fields.ref, level)
            return event
        template = "sla_warning" if kind is TimerKind.SLA_WARNING else "sla_breach"
        context = {
            "ticket": {
                "ref": str(fields.ref),
                "subject": fields.subject,
                "priority": int(fields.priority),
            },
            "sla_label": SLA_LABELS[self.locale][sla.value],
            "due": self._local(due) if due else "",
            "queue": fields.queue or "-",
            "assignee": fields.assignee or "",
            "level": level,
        }
        self.mailer.queue(
            session,
            self.support_address,
            Letter(
                kind=MailKind.SLA_NOTICE,
                template=template,
                context=context,
                to=[("", address) for address in recipients],
                ticket=fields.ref,
                from_name="ticketgate",
                automatic="auto-generated",
            ),
            now,
        )
        return event

    # --- mail ------------------------------------------------------------------------------

    def _mail_customer(
        self,
        session: Session,
        fields: ClockFields,
        template: str,
        kind: MailKind,
        extra: Mapping[str, Any],
        now: datetime,
        *,
        with_history: bool = True,
    ) -> None:
        """A mail to the requester, threaded under the ticket's last message."""
        store = LifecycleStore(session)
        history = (
            [
                {
                    "at": self._local(at),
                    "who": WHO[self.locale].get(direction, direction),
                    "text": body if len(body) <= 600 else body[:600] + " […]",
                }
                for at, direction, body in store.public_history(fields.ref)
            ]
            if with_history
            else []
        )
        context = {
            "ticket": {
                "ref": str(fields.ref),
                "subject": fields.subject,
                "priority": int(fields.priority),
            },
            "requester_name": fields.requester_name,
            "history": history,
            "support_address": self.support_address,
            **extra,
        }
        thread = store.thread_message_ids(fields.ref)
        self.mailer.queue(
            session,
            self.support_address,
            Letter(
                kind=kind,
                template=template,
                context=context,
                to=[(fields.requester_name, fields.requester)],
                ticket=fields.ref,
                reply_to=self.tokens.reply_address(self.support_address, fields.ref),
                in_reply_to=thread[-1] if thread else None,
                references=thread[:-1],
                public_author=self.support_address,
            ),
            now,
        )

    def _local(self, instant: datetime) -> str:
        local = instant.astimezone(self.policy().calendar.zone)
        return local.strftime("%d/%m/%Y %H:%M" if self.locale == "pt_BR" else "%Y-%m-%d %H:%M")

    def _duration_text(self, duration: Duration | None) -> str:
        if duration is None:
            return ""
        day, days, hour, hours = DURATION_WORDS[self.locale]
        parts = []
        if duration.days:
            parts.append(f"{duration.days} {day if duration.days == 1 else days}")
        whole_hours = int(duration.time.total_seconds() // 3600)
        if whole_hours:
            parts.append(f"{whole_hours} {hour if whole_hours == 1 else hours}")
        return " + ".join(parts) or str(duration)
