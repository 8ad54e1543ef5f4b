"""What a held mail causes: kept for the admins, its source cooling down, one alert.

The effects of `Quarantine` and `HoldLoop` decisions (effects.py lists them in
order). Nothing is answered: a robot in a loop must get nothing back.
"""

from __future__ import annotations

import logging

from gateway.domain import EventKind, HoldLoop, MailKind, Quarantine
from gateway.domain.flood import QuarantineCause
from gateway.intake.ports import Job
from gateway.mail.contexts import LoopAlert
from gateway.mail.letters import Letter

log = logging.getLogger(__name__)


def hold_for_review(d: Quarantine | HoldLoop, job: Job) -> None:
    """Kept in the quarantine, listed by `ticketgate quarantine list` until released."""
    cause = d.cause if isinstance(d, Quarantine) else QuarantineCause.LOOP
    job.ports.held.hold(job, cause, d.reason, d.ticket)
    if d.ticket is not None:
        job.ports.tickets.record_event(
            d.ticket, EventKind.MAIL_HELD, job.sender, job.now, cause=cause.value, reason=d.reason
        )


def cool_down_and_tell(d: HoldLoop, job: Job) -> None:
    """The source's further mail is held for one cool-down (renewed if it trips again);
    the admins hear of the loop once per cool-down, in the same transaction."""
    if not job.ports.held.cool_down(d.source, d.key, d.reason, job.now):
        return
    if not job.ports.admins:
        log.warning("loop held (%s); no [gateway] admins configured to tell", d.reason)
        return
    job.ports.mail.queue(
        job.support,
        Letter(
            kind=MailKind.ADMIN_ALERT,
            template="loop_alert",
            context=LoopAlert.of(d, job.msg.subject, job.sender, job.ports.words),
            to=[("", admin) for admin in job.ports.admins],
            automatic="auto-generated",
            from_name="ticketgate",
        ),
        job.now,
    )
