"""Queueing gateway mail inside a use case's transaction.

Every mail the gateway writes — acknowledgements, rejections, agent
notifications, agents' answers relayed to customers — is rendered, composed
and written to the outbox here, in the caller's transaction, so it leaves
only if the decision that caused it commits. Mail the customer sees is also
recorded in the ticket's thread, which is what lets replies thread back by
In-Reply-To.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from gateway.domain import (
    AttachmentPart,
    Direction,
    EventKind,
    MailKind,
    OutgoingMail,
    TicketRef,
    Visibility,
)
from gateway.domain.flood import EVERYONE, Counter, FloodLimits, Rate
from gateway.mail.contexts import TemplateContext
from gateway.mail.labels import Words
from outbound.compose import Addressing, Templates, compose
from storage.flow import FlowLedger
from storage.repository import NewMessage, Outbox, TicketRepository

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Letter:
    """One mail to queue: which template, to whom, and in which thread."""

    kind: MailKind
    template: str
    context: Mapping[str, object] | TemplateContext
    to: Sequence[tuple[str, str]]
    cc: Sequence[tuple[str, str]] = ()
    ticket: TicketRef | None = None
    reply_to: str | None = None
    in_reply_to: str | None = None
    references: Sequence[str] = ()
    automatic: str | None = "auto-replied"
    from_name: str | None = None
    attachments: Sequence[AttachmentPart] = ()
    # Recorded in the ticket's public thread (the customer sees it), with this author.
    public_author: str | None = None


# The signed link to a ticket's status page for a person at an instant
# (gateway/lifecycle/ticket_links.py); handed in at start-up.
StatusLink = Callable[[TicketRef, str, datetime], str]


class Mailer:
    """Renders, composes and queues letters in the caller's transaction. Every mail the
    customer sees (it is recorded in the public thread) gets `status_url`, the signed link
    to the ticket's status page for its first recipient. Automatic mail over a flood
    limit ([limits]) is recorded as suppressed instead of queued."""

    def __init__(
        self,
        templates: Templates,
        words: Words,
        status_link: StatusLink | None = None,
        limits: FloodLimits | None = None,
    ) -> None:
        self.templates = templates
        self.words = words
        self.status_link = status_link
        self.limits = limits

    def queue(
        self,
        session: Session,
        support_address: str,
        letter: Letter,
        now: datetime,
    ) -> OutgoingMail:
        """Queue `letter` at `now`, the instant of the use case that caused it."""
        context = letter.context
        if isinstance(context, TemplateContext):
            context = context.as_mapping()
        link = self.status_link
        if link and letter.ticket and letter.public_author is not None and letter.to:
            context = {**context, "status_url": link(letter.ticket, letter.to[0][1], now)}
        rendered = self.templates.render(letter.template, self.words.locale, context)
        mail = compose(
            letter.kind,
            rendered,
            Addressing(
                from_address=support_address,
                from_name=letter.from_name or self.words.support_name,
                to=letter.to,
                cc=letter.cc,
                reply_to=letter.reply_to,
                in_reply_to=letter.in_reply_to,
                references=letter.references,
                ticket=letter.ticket,
                automatic=letter.automatic,
                attachments=letter.attachments,
            ),
            now,
        )
        over = self._over_limit(session, letter, mail, now)
        Outbox(session).enqueue(mail, now, status="suppressed" if over else "pending")
        if over:
            log.warning("%s %s not sent: %s", mail.kind.value, mail.message_id, over)
        if letter.ticket is None:
            return mail
        tickets = TicketRepository(session)
        if letter.public_author is not None and not over:
            tickets.add_message(
                letter.ticket,
                NewMessage(
                    message_id=mail.message_id,
                    direction=Direction.OUTBOUND,
                    visibility=Visibility.PUBLIC,
                    sender=letter.public_author,
                    recipients=mail.recipients,
                    subject=rendered.subject,
                    body=rendered.text,
                ),
                now,
            )
        tickets.record_event(
            letter.ticket,
            EventKind.MAIL_SUPPRESSED if over else EventKind.MAIL_QUEUED,
            "ticketgate",
            now,
            kind=letter.kind.value,
            message_id=mail.message_id,
            recipients=list(mail.recipients),
            **({"reason": over} if over else {}),
        )
        return mail

    def _over_limit(
        self, session: Session, letter: Letter, mail: OutgoingMail, now: datetime
    ) -> str | None:
        """Why this automatic mail goes over a limit (None: it may go, and is counted).

        A person's words (an agent's answer) and the admins' alerts are never held back."""
        if self.limits is None or letter.automatic is None or letter.kind is MailKind.ADMIN_ALERT:
            return None
        limits, flow = self.limits, FlowLedger(session)
        checks: list[tuple[Rate | None, Counter, str]] = [
            (limits.recipient_mails, Counter.AUTO_MAIL_TO, r.lower()) for r in mail.recipients
        ]
        if mail.ticket is not None:
            checks.append((limits.ticket_auto_mails, Counter.AUTO_MAIL_ON_TICKET, str(mail.ticket)))
        checks.append((limits.global_mails, Counter.AUTO_MAIL, EVERYONE))
        for rate, counter, key in checks:
            if rate is None:
                continue
            if rate.exceeded_by(flow.count(counter, key, now - rate.window, now)):
                return f"over the limit of {rate} ({counter.value} {key})"
        flow.mark([(counter, key) for rate, counter, key in checks if rate is not None], now)
        return None
