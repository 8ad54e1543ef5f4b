"""Telling agents about a ticket: notifications, hand-offs and fresh copies on request.

Every agent mail about a ticket is built by `send_ticket_to`, so each carries
the facts and that agent's own signed addresses (answer the customer; internal
note), naming the one its Reply-To points at. Effects of gateway/intake/effects.py
and the agent effects call these; nothing here decides anything.
"""

from __future__ import annotations

from collections.abc import Sequence

from gateway.domain import (
    AgentAsksForTicket,
    AgentNews,
    AgentUpdate,
    AttachmentPart,
    Directory,
    EventKind,
    MailKind,
    ThreadUpdate,
    TicketRecord,
    TokenPurpose,
    Visibility,
)
from gateway.intake.ports import Job
from gateway.mail.contexts import AgentNotification, ThreadLine, TicketFacts
from gateway.mail.letters import Letter

NOBODY = "ticketgate"  # the actor of what the gateway does on its own


# --- shared by every path that tells agents --------------------------------------------


def notify_agents(
    job: Job,
    news: AgentNews,
    text: str,
    attachments: Sequence[AttachmentPart] = (),
) -> None:
    """Mail the assignee, or the queue's agents, about a ticket; never the author."""
    ticket = job.ticket()
    team = [ticket.assignee] if ticket.assignee else queue_agents(job.directory, ticket.queue)
    skip = {job.sender.lower(), *job.told}
    recipients = [r for r in team if r.lower() not in skip]
    if not recipients:
        job.event(EventKind.NO_AGENT_TO_NOTIFY, NOBODY, queue=ticket.queue)
        return
    for recipient in recipients:
        send_ticket_to(job, recipient, news, text, attachments)


def queue_agents(directory: Directory, queue: str | None) -> list[str]:
    return list(dict.fromkeys(a.email for a in directory.agents if queue in a.queues))


def send_ticket_to(
    job: Job,
    agent: str,
    news: AgentNews,
    text: str,
    attachments: Sequence[AttachmentPart] = (),
) -> None:
    """One agent's mail about a ticket: what happened, the facts, and reply and note
    addresses signed for that agent alone. A hand-off or a request carries the whole
    conversation so far, so the next agent needs nothing else."""
    ticket = job.ticket()
    directory, ports = job.directory, job.ports
    author = job.sender
    job.told.add(agent.lower())
    is_agent = directory.agent(author) is not None
    author_label = agent_name(directory, author) if is_agent else (job.sender_name or author)
    answer = ports.tokens.reply_address(job.support, ticket.ref, TokenPurpose.AGENT, agent)
    note = ports.tokens.reply_address(job.support, ticket.ref, TokenPurpose.NOTE, agent)
    # Replying to a note stays a note (RT's comment address): the safe default.
    replies_are_notes = news is AgentNews.NOTE
    context = AgentNotification(
        event=news,
        author=author_label,
        text=text,
        marker=ports.words.reply_marker,
        answer_address=answer,
        note_address=note,
        replies_are_notes=replies_are_notes,
        ticket=TicketFacts.of(ticket, directory, ports.words),
        conversation=_conversation(job) if news in WHOLE_TICKET else [],
    )
    ports.mail.queue(
        job.support,
        Letter(
            kind=MailKind.AGENT_NOTIFICATION,
            template="agent_notification",
            context=context,
            to=[(agent_name(directory, agent), agent)],
            ticket=ticket.ref,
            reply_to=note if replies_are_notes else answer,
            # One stable root per ticket, so every agent's client threads them together.
            in_reply_to=agent_thread_root(ticket, job.support),
            automatic="auto-generated",
            attachments=attachments,
        ),
        job.now,
    )


# The news that hands the whole ticket over: the agent may never have seen it.
WHOLE_TICKET = frozenset(
    {AgentNews.ESCALATED, AgentNews.HANDED_OFF, AgentNews.ASSIGNED, AgentNews.REQUESTED}
)


def _conversation(job: Job) -> list[ThreadLine]:
    assert job.ref is not None
    words = job.ports.words
    return [
        ThreadLine(
            at=words.when(m.created_at),
            who=m.sender,
            internal=m.visibility is Visibility.INTERNAL,
            text=m.body,
            attachments=[a.filename for a in m.attachments],
        )
        for m in job.ports.tickets.messages(job.ref)
    ]


def agent_name(directory: Directory, email: str) -> str:
    agent = directory.agent(email)
    return agent.name if agent else email


def agent_thread_root(ticket: TicketRecord, support: str) -> str:
    return f"<{str(ticket.ref).lower()}.agents@{support.rpartition('@')[2]}>"


def announce_hand_offs(d: AgentUpdate | ThreadUpdate, job: Job) -> None:
    """A new queue's agents, a new assignee and a dropped assignee each hear of it, with the
    whole ticket; escalation is a hand-off up the chain. Nobody is told twice, nor the author."""
    changed = job.changed
    text = d.commands.text if isinstance(d, AgentUpdate) else ""
    escalated = isinstance(d, AgentUpdate) and d.commands.changes.escalate
    told = job.told | {job.sender.lower()}
    if "queue" in changed:
        queue = changed["queue"][1]
        news = AgentNews.ESCALATED if escalated else AgentNews.HANDED_OFF
        job.event(EventKind.HANDED_OFF, queue=queue, escalated=escalated)
        for agent in queue_agents(job.directory, queue):
            if agent.lower() not in told:
                told.add(agent.lower())
                send_ticket_to(job, agent, news, text)
    if "assignee" in changed:
        old, new = changed["assignee"]
        if new and new.lower() not in told:
            told.add(new.lower())
            send_ticket_to(job, new, AgentNews.ASSIGNED, text)
        if old and old.lower() not in told:
            send_ticket_to(job, old, AgentNews.UNASSIGNED, text)


def send_fresh_notification(d: AgentUpdate | AgentAsksForTicket, job: Job) -> None:
    """`#take`, or a mail about a ticket without its signed address: the ticket's mail,
    with this agent's own signed addresses, to the agent's directory address."""
    if isinstance(d, AgentUpdate) and not d.commands.changes.take:
        return
    job.event(EventKind.AGENT_ASKED_FOR_TICKET, signed=isinstance(d, AgentUpdate))
    send_ticket_to(job, job.sender, AgentNews.REQUESTED, "")


