"""Queueing gateway mail inside a use case's transaction.

Every mail the gateway writes — acknowledgements, rejections, agent
notifications, agents' answers relayed to customers — is rendered, composed
and written to the outbox here, in the caller's transaction, so it leaves
only if the decision that caused it commits. Mail the customer sees is also
recorded in the ticket's thread, which is what lets replies thread back by
In-Reply-To.
"""

from __future__ import annotations

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
from gateway.mail.contexts import TemplateContext
from gateway.mail.labels import Words
from outbound.compose import Addressing, Templates, compose
from storage.repository import NewMessage, Outbox, TicketRepository


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
    to the ticket's status page for its first recipient."""

    def __init__(
        self, templates: Templates, words: Words, status_link: StatusLink | None = None
    ) -> None:
        self.templates = templates
        self.words = words
        self.status_link = status_link

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
        Outbox(session).enqueue(mail, now)
        if letter.ticket is not None:
            tickets = TicketRepository(session)
            if letter.public_author is not None:
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
                EventKind.MAIL_QUEUED,
                "ticketgate",
                now,
                kind=letter.kind.value,
                message_id=mail.message_id,
                recipients=list(mail.recipients),
            )
        return mail
