"""Agent notifications as letters: one per agent, each with addresses bound to that agent.

Intake tells agents of new tickets, updates, notes and escalations
(gateway/intake/agent_effects.py); the lifecycle tells the next level of a customer's
escalation (gateway/lifecycle/escalation.py), which may come from a link click with no
mail in sight. Both build the mail here, so a notification reads and threads the same
whatever caused it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gateway.domain import (
    AgentNews,
    AttachmentPart,
    Directory,
    MailKind,
    TicketRecord,
    TicketRef,
    TokenPurpose,
    unique,
)
from gateway.domain.signing import ReplyTokens
from gateway.mail.contexts import AgentNotification, ThreadLine, TicketFacts
from gateway.mail.labels import Words
from gateway.mail.letters import Letter


@dataclass(frozen=True)
class AgentMail:
    """What every agent notification needs besides the news itself."""

    directory: Directory
    tokens: ReplyTokens
    words: Words
    support: str  # the support address the mail comes from and is answered at


def agent_name(directory: Directory, email: str) -> str:
    agent = directory.agent(email)
    return agent.name if agent else email


def agent_thread_root(ref: TicketRef, support: str) -> str:
    """One stable root per ticket, so every agent's client threads its notifications."""
    return f"<{str(ref).lower()}.agents@{support.rpartition('@')[2]}>"


def queue_agents(directory: Directory, queue: str | None) -> tuple[str, ...]:
    return unique([a.email for a in directory.agents if queue is not None and queue in a.queues])


def notification_letters(
    mail: AgentMail,
    ticket: TicketRecord,
    recipients: Sequence[str],
    news: AgentNews,
    author: str,
    text: str,
    attachments: Sequence[AttachmentPart] = (),
    conversation: Sequence[ThreadLine] = (),
    history: str = "",
) -> list[Letter]:
    """One `agent_notification` per recipient, carrying that agent's own signed addresses
    (answer the customer; internal note) and naming the one Reply-To points at: the note
    address for a note (replying to a note stays a note: the safe default), else the
    answer address."""
    facts = TicketFacts.of(ticket, mail.directory, mail.words)
    replies_are_notes = news is AgentNews.NOTE
    letters = []
    for recipient in recipients:
        answer = mail.tokens.reply_address(mail.support, ticket.ref, TokenPurpose.AGENT, recipient)
        note = mail.tokens.reply_address(mail.support, ticket.ref, TokenPurpose.NOTE, recipient)
        context = AgentNotification(
            event=news,
            author=author,
            text=text,
            marker=mail.words.reply_marker,
            answer_address=answer,
            note_address=note,
            replies_are_notes=replies_are_notes,
            ticket=facts,
            conversation=list(conversation),
            history=history,
        )
        letters.append(
            Letter(
                kind=MailKind.AGENT_NOTIFICATION,
                template="agent_notification",
                context=context,
                to=[(agent_name(mail.directory, recipient), recipient)],
                ticket=ticket.ref,
                reply_to=note if replies_are_notes else answer,
                in_reply_to=agent_thread_root(ticket.ref, mail.support),
                automatic="auto-generated",
                attachments=attachments,
            )
        )
    return letters
