"""SLA notices to agents: a target is near (warning), passed (breach), or still unmet an
escalation step later; and the same two for the date an agent agreed with the customer.

Rows of the timer table in gateway/lifecycle/timers.py. Each checks that what it watches
still holds (the SLA clock running and unmet; the agreed date unchanged and the ticket
unresolved), records the event with who was told, and queues one notice to the level's
recipients (gateway/lifecycle/sla.py `notice_recipients`: the analyst or queue, then up
the escalation chain) with the sla_warning/sla_breach templates.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from gateway.domain import EventKind, MailKind, Sla, TokenPurpose
from gateway.lifecycle import sla as lifecycle
from gateway.lifecycle.sla import ClockState
from gateway.lifecycle.step import SCHEDULER, STALE, Firing
from gateway.mail.contexts import SlaNotice, TicketLine
from gateway.mail.letters import Letter

log = logging.getLogger(__name__)


def warning(firing: Firing) -> str:
    """The target is an hour (`warn_before`) away: the analyst, else the queue, hears."""
    return _notice(firing, EventKind.SLA_WARNING, "sla_warning", level=0)


def breach(firing: Firing) -> str:
    """The target passed: the same people hear."""
    return _notice(firing, EventKind.SLA_BREACHED, "sla_breach", level=0)


def escalation(firing: Firing) -> str:
    """Still unmet `escalate_every` after the breach: the next level up the chain hears."""
    return _notice(firing, EventKind.SLA_ESCALATED, "sla_breach", level=firing.timer.level)


def due_warning(firing: Firing) -> str:
    """The date agreed with the customer is `warn_before` away: the analyst, else the queue."""
    return _due_notice(firing, EventKind.DUE_WARNING, "sla_warning")


def due_breach(firing: Firing) -> str:
    """The agreed date passed with the ticket unresolved: the same people hear."""
    return _due_notice(firing, EventKind.DUE_BREACHED, "sla_breach")


def unmet(state: ClockState, sla: Sla) -> bool:
    """Whether the `sla` clock is running and its target not yet met."""
    if state.status not in lifecycle.RUNNING or state.paused_at is not None:
        return False
    if sla is Sla.FIRST_RESPONSE:
        return state.first_responded_at is None
    if sla is Sla.NEXT_RESPONSE:
        return state.awaiting_since is not None
    return True  # resolution: running means unresolved


def _notice(firing: Firing, event: EventKind, template: str, *, level: int) -> str:
    timer = firing.timer
    sla = Sla(timer.sla) if timer.sla else Sla.RESOLUTION
    if not unmet(firing.state, sla):
        return STALE
    due = lifecycle.compute_dues(firing.state, firing.step.policy).of(sla)
    label = firing.step.words.sla(sla.value)
    return _tell(firing, event, template, label, due, level, sla=sla.value)


def _due_notice(firing: Firing, event: EventKind, template: str) -> str:
    """Stale once the ticket is resolved or the date changed (the key names the date)."""
    due = firing.fields.due_at
    if due is None or firing.state.status not in lifecycle.UNRESOLVED:
        return STALE
    if firing.timer.key not in lifecycle.due_keys(due):
        return STALE
    return _tell(firing, event, template, firing.step.words.agreed_due, due, 0)


def _tell(
    firing: Firing,
    event: EventKind,
    template: str,
    label: str,
    due: datetime | None,
    level: int,
    **data: Any,
) -> str:
    """Record `event` with who is told at `level`, and queue them one notice."""
    step, fields = firing.step, firing.fields
    recipients = lifecycle.notice_recipients(
        step.parts.directory(),
        step.policy,
        queue=fields.queue,
        assignee=fields.assignee,
        level=level,
    )
    step.tickets.record_event(
        fields.ref, event, SCHEDULER, step.now, **data, level=level,
        due=due.isoformat() if due else None, notified=list(recipients),
    )  # fmt: skip
    if not recipients:
        log.warning("%s %s of %s: nobody to notify at level %d", event, label, fields.ref, level)
        return event.value
    # One mail per recipient: an agent's carries the addresses signed for that agent.
    for address in recipients:
        _queue_notice(firing, template, label, due, level, address)
    return event.value


def _queue_notice(
    firing: Firing, template: str, label: str, due: datetime | None, level: int, address: str
) -> None:
    step, fields = firing.step, firing.fields
    parts, words = step.parts, step.words
    is_agent = parts.directory().agent(address) is not None
    answer = note = ""
    if is_agent:  # the direction is told, but acts through the agents
        answer = parts.tokens.reply_address(
            parts.support_address, fields.ref, TokenPurpose.AGENT, address
        )
        note = parts.tokens.reply_address(
            parts.support_address, fields.ref, TokenPurpose.NOTE, address
        )
    context = SlaNotice(
        ticket=TicketLine(str(fields.ref), fields.subject, int(fields.priority)),
        sla_label=label,
        due=words.when(due) if due else "",
        queue=words.queue_in(parts.directory(), fields.queue) if fields.queue else "-",
        assignee=fields.assignee or "",
        level=level,
        answer_address=answer,
        note_address=note,
    )
    step.queue(
        Letter(
            kind=MailKind.SLA_NOTICE,
            template=template,
            context=context,
            to=[("", address)],
            ticket=fields.ref,
            reply_to=answer or None,
            from_name="ticketgate",
            automatic="auto-generated",
        )
    )

