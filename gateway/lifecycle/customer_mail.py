"""The lifecycle's mail to the customer: a status change, the close and its survey, the
reminder while we wait for them, the notice that a silent ticket was resolved, and the
answer to their request for escalation.

A resolved ticket's mail says how to approve the solution or say it is not solved, and
every status mail how to ask for escalation, by reply or by signed link
(gateway/lifecycle/ticket_links.py).

Called by gateway/lifecycle/clock.py after it moves a ticket's status and by
gateway/lifecycle/timers.py when a timer fires; each mail is queued in the step's
transaction, threaded under the ticket's public thread only
(gateway/mail/threading.py), so an internal note's Message-ID never reaches the customer.
"""

from __future__ import annotations

from datetime import datetime

from gateway.domain import EventKind, MailKind, TicketRecord, TicketStatus
from gateway.lifecycle import sla as lifecycle
from gateway.lifecycle.sla import ClockState
from gateway.lifecycle.step import GATEWAY, Step
from gateway.mail.contexts import (
    AboutTicket,
    AutoResolved,
    Closed,
    CustomerActions,
    CustomerNotice,
    EscalationAnswer,
    HistoryLine,
    Reminder,
    StatusChanged,
)
from gateway.mail.letters import Letter
from gateway.mail.threading import customer_thread

HISTORY_TEXT = 600  # characters of each earlier message quoted in the mail


def status_changed(step: Step, fields: TicketRecord, state: ClockState, cause: str) -> None:
    """The ticket moved to `state.status` (waiting, resolved, back in progress)."""
    words = step.words
    _mail(
        step,
        fields,
        "status_changed",
        MailKind.STATUS,
        StatusChanged(
            _about(step, fields),
            status=state.status.value,
            status_label=words.status(state.status.value),
            cause=words.cause(cause),
            deadline=_deadline(step, lifecycle.resolve_deadline(state, step.policy)),
            actions=_actions(step, fields),
            outcome=_outcome(step, fields) if state.status is TicketStatus.RESOLVED else "",
        ),
    )


def closed(step: Step, fields: TicketRecord, cause: str) -> None:
    """The ticket closed: say so, then (if the policy asks) send the satisfaction survey."""
    _mail(
        step,
        fields,
        "closed",
        MailKind.STATUS,
        Closed(
            _about(step, fields),
            cause=step.words.cause(cause),
            new_ticket_on_reply=step.policy.reply_to_closed == "new_ticket",
            outcome=_outcome(step, fields),
        ),
    )
    if not step.policy.survey_enabled:
        return
    survey_id = step.store.create_survey(
        fields.ref, agent=fields.assignee, queue=fields.queue, now=step.now
    )
    _mail(
        step,
        fields,
        "survey",
        MailKind.SURVEY,
        step.parts.links.invitation(
            survey_id,
            fields.ref,
            _about(step, fields, with_history=False),
            fields.requester,
            step.now,
        ),
    )
    step.tickets.record_event(
        fields.ref, EventKind.SURVEY_SENT, GATEWAY, step.now, survey=survey_id
    )


def reminder(step: Step, fields: TicketRecord, state: ClockState) -> None:
    """We still wait for the customer's answer, and resolve the ticket without it at ..."""
    _mail(
        step,
        fields,
        "reminder",
        MailKind.REMINDER,
        Reminder(
            _about(step, fields),
            since=step.words.when(fields.status_since),
            deadline=_deadline(step, lifecycle.resolve_deadline(state, step.policy)),
        ),
    )


def auto_resolved(step: Step, fields: TicketRecord, resolved: ClockState) -> None:
    """No answer in `resolve_after`: the ticket is resolved, and closes at ... unless they
    write."""
    _mail(
        step,
        fields,
        "auto_resolved",
        MailKind.STATUS,
        AutoResolved(
            _about(step, fields),
            waited=step.words.duration(step.policy.resolve_after),
            deadline=_deadline(step, lifecycle.resolve_deadline(resolved, step.policy)),
            actions=_actions(step, fields),
        ),
    )


def escalation_answer(
    step: Step,
    fields: TicketRecord,
    *,
    level: str,
    earlier: datetime | None = None,
    next_allowed: datetime | None = None,
) -> None:
    """The customer asked for escalation: it went to `level`, or (with `next_allowed`) one
    already went at `earlier` and nothing changed; either way they hear it from us."""
    _mail(
        step,
        fields,
        "escalation_answer",
        MailKind.STATUS,
        EscalationAnswer(
            _about(step, fields, with_history=False),
            accepted=next_allowed is None,
            level=level,
            earlier=_deadline(step, earlier),
            next_allowed=_deadline(step, next_allowed),
        ),
    )


def _actions(step: Step, fields: TicketRecord) -> CustomerActions:
    policy = step.policy
    links = step.parts.ticket_links
    phrases = policy.customer_escalation_phrases
    return links.actions(fields.ref, step.parts.locale, phrases, fields.requester, step.now)


def _deadline(step: Step, instant: datetime | None) -> str:
    return step.words.when(instant) if instant else ""


def _outcome(step: Step, fields: TicketRecord) -> str:
    """The policy's paragraph for how the ticket ended (`#outcome`), in the mail's locale."""
    return step.policy.outcome_text(fields.outcome, step.parts.locale)


def _about(step: Step, fields: TicketRecord, *, with_history: bool = True) -> AboutTicket:
    words = step.words
    history = [
        HistoryLine(
            at=words.when(at),
            who=words.who(direction),
            text=body if len(body) <= HISTORY_TEXT else body[:HISTORY_TEXT] + " […]",
        )
        for at, direction, body in (step.store.public_history(fields.ref) if with_history else [])
    ]
    return AboutTicket.of(fields, history, step.parts.support_address, words)


def _mail(
    step: Step, fields: TicketRecord, template: str, kind: MailKind, context: CustomerNotice
) -> None:
    """A mail to the requester, threaded under the ticket's last public message."""
    thread = customer_thread(step.tickets.public_message_ids(fields.ref))
    step.queue(
        Letter(
            kind=kind,
            template=template,
            context=context,
            to=[(fields.requester_name, fields.requester)],
            ticket=fields.ref,
            reply_to=step.parts.tokens.reply_address(step.parts.support_address, fields.ref),
            in_reply_to=thread.in_reply_to,
            references=thread.references,
            public_author=step.parts.support_address,
        )
    )
