"""What a held mail causes: kept for the admins, its source cooling down, one alert.

The effects of `Quarantine` and `HoldLoop` decisions (effects.py lists them in
order). Nothing is answered: a robot in a loop must get nothing back.
"""

from __future__ import annotations

import logging

from gateway.domain import EventKind, HoldLoop, MailKind, Quarantine
from gateway.domain.flood import HoldSource, QuarantineCause
from gateway.intake.ports import Job
from gateway.mail.letters import Letter

log = logging.getLogger(__name__)


def hold_for_review(d: Quarantine | HoldLoop, job: Job) -> None:
    """Kept in the quarantine, listed by `ticketgate quarantine list` until released."""
    held = job.ports.held
    cause = d.cause if isinstance(d, Quarantine) else QuarantineCause.LOOP
    if held is not None:
        held.hold(job, cause, d.reason, d.ticket)
    if d.ticket is not None:
        job.ports.tickets.record_event(
            d.ticket, EventKind.MAIL_HELD, job.sender, job.now, cause=cause.value, reason=d.reason
        )


def start_cool_down(d: HoldLoop, job: Job) -> None:
    """The source's further mail is held for one cool-down (renewed if it trips again)."""
    held = job.ports.held
    if held is not None:
        job.alert_admins = held.cool_down(d.source, d.key, d.reason, job.now)


def alert_admins(d: HoldLoop, job: Job) -> None:
    """The admins hear of a loop once per cool-down, in the same transaction."""
    if not job.alert_admins:
        return
    if not job.ports.admins:
        log.warning("loop held (%s); no [gateway] admins configured to tell", d.reason)
        return
    job.ports.mail.queue(
        job.support,
        Letter(
            kind=MailKind.ADMIN_ALERT,
            template="loop_alert",
            context={
                "source": d.source.value,
                "key": d.key,
                "is_sender": d.source is HoldSource.SENDER,
                "is_ticket": d.source is HoldSource.TICKET,
                "reason": d.reason,
                "subject": job.msg.subject,
                "sender": job.sender,
            },
            to=[("", admin) for admin in job.ports.admins],
            automatic="auto-generated",
            from_name="ticketgate",
        ),
        job.now,
    )
