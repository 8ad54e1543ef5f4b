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
    EventKind,
    ThreadUpdate,
    Visibility,
)
from gateway.intake.ports import Job
from gateway.mail.agent_mail import AgentMail, agent_name, notification_letters, queue_agents
from gateway.mail.contexts import ThreadLine

NOBODY = "ticketgate"  # the actor of what the gateway does on its own


# --- shared by every path that tells agents --------------------------------------------


def notify_agents(
    job: Job,
    news: AgentNews,
    text: str,
    attachments: Sequence[AttachmentPart] = (),
    history: str = "",
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
        send_ticket_to(job, recipient, news, text, attachments, history)


def send_ticket_to(
    job: Job,
    agent: str,
    news: AgentNews,
    text: str,
    attachments: Sequence[AttachmentPart] = (),
    history: str = "",
) -> None:
    """One agent's mail about a ticket, built by gateway/mail/agent_mail.py. A hand-off or a
    request carries the whole conversation so far, so the next agent needs nothing else."""
    ticket = job.ticket()
    directory, ports = job.directory, job.ports
    author = job.sender
    job.told.add(agent.lower())
    is_agent = directory.agent(author) is not None
    author_label = agent_name(directory, author) if is_agent else (job.sender_name or author)
    mail = AgentMail(directory, ports.tokens, ports.words, job.support)
    conversation = _conversation(job) if news in WHOLE_TICKET else []
    for letter in notification_letters(
        mail, ticket, [agent], news, author_label, text, attachments, conversation, history
    ):
        ports.mail.queue(job.support, letter, job.now)


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


