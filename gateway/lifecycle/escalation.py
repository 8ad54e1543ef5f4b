"""A customer's own request for escalation (seed 001: attendant → area lead → direction),
by mail ("quero escalar", read by the pipeline) or by the signed link in status mail.

Each request takes the ticket one step up its queue's chain (sla.py
`customer_escalation_step`): to the queue named by `escalates_to`, unassigned so that
level's agents take it up, and those agents get an agent notification
(gateway/mail/agent_mail.py); past the chain's end the policy's `direction` addresses
are mailed. Seed 001 asks customers to go up "only when the previous level has not met
the need", so a level gets time to act: at most one step per ticket per
`customer_escalation_window`. A request within it is recorded and answered politely and
changes nothing. Either way the customer gets a mail saying what happened.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from gateway.domain import AgentNews, EventKind, MailKind, TicketRecord, TicketRef, TicketStatus
from gateway.lifecycle import clock, customer_mail
from gateway.lifecycle import sla as lifecycle
from gateway.lifecycle.step import Step
from gateway.mail.agent_mail import notification_letters
from gateway.mail.contexts import EscalationNotice, TicketFacts
from gateway.mail.letters import Letter

log = logging.getLogger(__name__)

ESCALATED_CAUSE = "escalated by the customer"  # Words.cause words it for the customer
# An escalation asks for work, as a reply does: a ticket waiting or resolved reopens.
REOPENS = frozenset(
    {TicketStatus.WAITING_CUSTOMER, TicketStatus.WAITING_THIRD_PARTY, TicketStatus.RESOLVED}
)


class EscalationResult(StrEnum):
    ESCALATED = "escalated"  # one queue up, its agents told
    DIRECTION = "direction"  # past the chain's end: the direction told
    TOO_SOON = "too_soon"  # one already within the window: recorded and answered only
    CLOSED = "closed"  # a closed ticket goes nowhere


@dataclass(frozen=True)
class EscalationOutcome:
    """What a request did; `level` names where the ticket went, in the customer's words."""

    result: EscalationResult
    level: str = ""
    earlier: datetime | None = None
    next_allowed: datetime | None = None


def customer_escalation(
    step: Step, ref: TicketRef, *, actor: str, author: str, channel: str, text: str
) -> EscalationOutcome:
    """Take the ticket one step up, or record why not. `author` names the customer to
    agents; `text` is what they wrote, if anything."""
    fields = step.store.clock(ref, lock=True)  # two requests at once: one waits for the other
    if fields.status is TicketStatus.CLOSED:
        return EscalationOutcome(EscalationResult.CLOSED)
    earlier = step.store.last_event_at(fields.ref, EventKind.CUSTOMER_ESCALATED)
    next_allowed = lifecycle.next_customer_escalation(step.policy, earlier)
    if earlier is not None and next_allowed is not None and step.now < next_allowed:
        step.tickets.record_event(
            fields.ref, EventKind.CUSTOMER_ESCALATION_REFUSED, actor, step.now,
            channel=channel, earlier=earlier.isoformat(), next_allowed=next_allowed.isoformat(),
        )  # fmt: skip
        customer_mail.escalation_answer(
            step, fields, level="", earlier=earlier, next_allowed=next_allowed
        )
        return EscalationOutcome(EscalationResult.TOO_SOON, "", earlier, next_allowed)
    if fields.status in REOPENS:
        # The answer below tells the customer; a status mail as well would say it twice.
        clock.change_status(
            step, fields.ref, TicketStatus.OPEN, actor=actor, cause=ESCALATED_CAUSE, notify=False
        )
    return _step_up(step, fields, actor=actor, author=author, channel=channel, text=text)


def _step_up(
    step: Step, fields: TicketRecord, *, actor: str, author: str, channel: str, text: str
) -> EscalationOutcome:
    directory = step.parts.directory()
    target = lifecycle.customer_escalation_step(directory, step.policy, fields.queue)
    if target.queue is not None:
        _move(step, fields, target.queue, actor)
    ticket = step.tickets.get(fields.ref)
    assert ticket is not None
    if target.queue is not None:
        queue = directory.queue(target.queue)
        level = step.words.queue(target.queue, queue.name if queue else target.queue)
        news = AgentNews.CUSTOMER_ESCALATED
        letters = notification_letters(step.agent_mail, ticket, target.notify, news, author, text)
    else:
        level = step.words.direction
        letters = [_direction_notice(step, ticket, target.notify, author, text)]
    if target.notify:
        for letter in letters:
            step.queue(letter)
    else:
        log.warning("customer escalation of %s: nobody to tell at %s", ticket.ref, level)
    step.tickets.record_event(
        ticket.ref, EventKind.CUSTOMER_ESCALATED, actor, step.now, channel=channel,
        from_queue=fields.queue, to_queue=target.queue, notified=list(target.notify),
    )  # fmt: skip
    customer_mail.escalation_answer(step, ticket, level=level)
    result = EscalationResult.ESCALATED if target.queue else EscalationResult.DIRECTION
    return EscalationOutcome(result, level)


def _move(step: Step, fields: TicketRecord, queue: str, actor: str) -> None:
    """To the next queue, unassigned (as `#escalate` does), an event per changed field."""
    tickets = step.tickets
    changes = {"queue": queue, "assignee": None}
    for name, (old, new) in tickets.change_fields(fields.ref, changes, step.now).items():
        tickets.record_event(
            fields.ref, EventKind.FIELD_CHANGED, actor, step.now, field=name, old=old, new=new
        )


def _direction_notice(
    step: Step, ticket: TicketRecord, recipients: tuple[str, ...], author: str, text: str
) -> Letter:
    """Past the last queue: the direction hears of it (they answer no ticket mail, so no
    signed agent address)."""
    facts = TicketFacts.of(ticket, step.parts.directory(), step.words)
    return Letter(
        kind=MailKind.ESCALATION_NOTICE,
        template="escalation_notice",
        context=EscalationNotice(facts, author, text),
        to=[("", address) for address in recipients],
        ticket=ticket.ref,
        from_name="ticketgate",
        automatic="auto-generated",
    )
