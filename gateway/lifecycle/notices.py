"""SLA notices to agents: a target is near (warning), passed (breach), or still unmet an
escalation step later.

Three rows of the timer table in gateway/lifecycle/timers.py. Each checks that the SLA
clock it watches is still running and unmet, records the event with who was told, and
queues one notice to the level's recipients (gateway/lifecycle/sla.py
`notice_recipients`: the analyst or queue, then up the escalation chain).
"""

from __future__ import annotations

import logging

from gateway.domain import EventKind, MailKind, Sla
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
    step, fields, timer = firing.step, firing.fields, firing.timer
    sla = Sla(timer.sla) if timer.sla else Sla.RESOLUTION
    if not unmet(firing.state, sla):
        return STALE
    due = lifecycle.compute_dues(firing.state, step.policy).of(sla)
    recipients = lifecycle.notice_recipients(
        step.parts.directory(),
        step.policy,
        queue=fields.queue,
        assignee=fields.assignee,
        level=level,
    )
    step.tickets.record_event(
        fields.ref, event, SCHEDULER, step.now, sla=sla.value, level=level,
        due=due.isoformat() if due else None, notified=list(recipients),
    )  # fmt: skip
    if not recipients:
        log.warning("%s %s of %s: nobody to notify at level %d", event, sla, fields.ref, level)
        return event.value
    words = step.words
    context = SlaNotice(
        ticket=TicketLine(str(fields.ref), fields.subject, int(fields.priority)),
        sla_label=words.sla(sla.value),
        due=words.when(due) if due else "",
        queue=fields.queue or "-",
        assignee=fields.assignee or "",
        level=level,
    )
    step.queue(
        Letter(
            kind=MailKind.SLA_NOTICE,
            template=template,
            context=context,
            to=[("", address) for address in recipients],
            ticket=fields.ref,
            from_name="ticketgate",
            automatic="auto-generated",
        )
    )
    return event.value
