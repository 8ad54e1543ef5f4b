"""Effects that concern agents: telling them, and carrying out what they ask by mail.

Agents are notified of new tickets and customer updates (the assignee only,
once there is one) with the ticket's facts and addresses signed for them.
An agent's reply is carried out here, one small effect per concern: field
changes, escalation, an internal note, the answer relayed to the customer
from the support address, the status change (through the lifecycle, the one
writer of status). Each takes the decision and the `Job` (ports.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from gateway.domain import (
    AgentAsksForTicket,
    AgentCommandsFailed,
    AgentError,
    AgentNews,
    AgentUpdate,
    CreateTicket,
    Directory,
    EventKind,
    MailKind,
    Permission,
    TicketChanges,
    TicketRecord,
    TicketStatus,
    TokenPurpose,
    Visibility,
)
from gateway.intake.agent_mail import notify_agents
from gateway.intake.ports import Job
from gateway.mail.agent_mail import agent_name
from gateway.mail.contexts import (
    AgentAnswer,
    CommandErrors,
)
from gateway.mail.letters import Letter
from gateway.mail.threading import customer_thread


def split_followers(
    directory: Directory, organization: str | None, addresses: Sequence[str]
) -> tuple[list[str], list[str]]:
    """Those who may follow the organization's tickets (by default its contacts who may open
    them, or anyone at a domain it opened); nobody else sees a ticket's content."""
    allowed, dropped = [], []
    for address in dict.fromkeys(a.lower() for a in addresses):
        if directory.may(address, organization, Permission.FOLLOW):
            allowed.append(address)
        else:
            dropped.append(address)
    return allowed, dropped


def add_followers(job: Job, ticket: TicketRecord, addresses: Sequence[str]) -> list[str]:
    """Allowed addresses become followers; the others are dropped, and the drop recorded."""
    allowed, dropped = split_followers(job.directory, ticket.organization, addresses)
    new = [a for a in allowed if a not in ticket.followers]
    if new:
        job.ports.tickets.change_fields(ticket.ref, {"followers": new}, job.now)
        job.event(EventKind.FOLLOWERS_ADDED, added=new)
    if dropped:
        job.event(
            EventKind.RECIPIENTS_DROPPED, addresses=dropped, reason="not allowed on this ticket"
        )
    return new


def apply_field_changes(job: Job, changes: TicketChanges) -> None:
    """Queue, priority, category, environment, assignee, tags, the agreed date, the outcome
    and escalation, an event each. Status is not a field here: the lifecycle writes it
    (`agent_status`)."""
    ticket = job.ticket()
    wanted: dict[str, object] = {}
    for name in ("priority", "queue", "category", "environment", "due_at", "outcome"):
        value = getattr(changes, name)
        if value is not None:
            wanted[name] = value
    if changes.assignee:
        wanted["assignee"] = changes.assignee
    if changes.tags:
        wanted["tags"] = list(changes.tags)
    if changes.escalate:
        current = job.directory.queue(str(wanted.get("queue") or ticket.queue))
        assert current is not None and current.escalates_to  # checked by the pipeline
        wanted["queue"] = current.escalates_to
    moves = wanted.get("queue") not in (None, ticket.queue)
    if moves and not changes.keep_assignee and "assignee" not in wanted:
        wanted["assignee"] = None  # the new team picks it up, unless the command keeps them
    changed = job.ports.tickets.change_fields(ticket.ref, wanted, job.now)
    for name, (old, new) in changed.items():
        job.event(EventKind.FIELD_CHANGED, field=name, old=_logged(old), new=_logged(new))
    job.changed.update(changed)
    if changes.escalate:
        job.event(EventKind.ESCALATED, queue=wanted["queue"])


def _logged(value: object) -> object:
    """A field's value as the event log (JSON) keeps it: an instant as ISO 8601."""
    return value.isoformat() if isinstance(value, datetime) else value


def keep_internal(job: Job, text: str) -> None:
    """The agent's mail in the thread as an internal note: agents see it, customers never."""
    job.keep_received(text, Visibility.INTERNAL)


# --- an agent's reply on a ticket ------------------------------------------------------


def apply_agent_fields(d: AgentUpdate, job: Job) -> None:
    apply_field_changes(job, d.commands.changes)


def keep_note(d: AgentUpdate, job: Job) -> None:
    """`#note` or the note address: internal, and the other agents are told."""
    if d.commands.is_note and d.commands.text:
        keep_internal(job, d.commands.text)
        notify_agents(job, AgentNews.NOTE, d.commands.text, job.msg.attachments)


def relay_answer(d: AgentUpdate, job: Job) -> None:
    """The agent's answer goes out from the support address, signed with the agent's name;
    the agent's own address and the quoted notification never reach the customer."""
    sheet = d.commands
    if sheet.is_note or not sheet.text:
        return  # a note, or commands only: nothing for the customer
    ticket = job.ticket()
    msg, ports = job.msg, job.ports
    extra = [
        a.address
        for a in (*msg.to, *msg.cc)
        if not job.is_support(a.address)
        and job.directory.agent(a.address) is None
        and a.address not in (ticket.requester, *ticket.followers)
    ]
    added = add_followers(job, ticket, extra)
    # Checked again on the way out: whatever put a follower there, a customer's
    # copy never goes to another organization or to an agent's own mailbox.
    followers, _ = split_followers(
        job.directory, ticket.organization, [*ticket.followers, *added]
    )
    name = agent_name(job.directory, job.sender)
    wanted = sheet.changes.status
    moves = wanted is not None and wanted is not ticket.status
    # The answer itself tells the new status and what happens next (no separate status mail).
    status_line = ports.lifecycle.next_step(wanted, job.now) if wanted and moves else ""
    # A new priority or team set in the same mail is told with the answer (seeds 002, 004).
    moved = sheet.changes.queue or sheet.changes.escalate
    queue_name = ports.words.queue_in(job.directory, ticket.queue) if ticket.queue and moved else ""
    thread = customer_thread(
        ports.tickets.public_message_ids(ticket.ref),
        ports.tickets.last_customer_message_id(ticket.ref),
    )
    ports.mail.queue(
        job.support,
        Letter(
            kind=MailKind.AGENT_REPLY,
            template="agent_reply",
            context=AgentAnswer.of(
                sheet.text,
                name,
                ticket,
                ports.words,
                status_line,
                priority_changed=sheet.changes.priority is not None,
                queue_name=queue_name,
            ),
            to=[(ticket.requester_name, ticket.requester)],
            cc=[("", f) for f in dict.fromkeys(followers) if f != ticket.requester],
            ticket=ticket.ref,
            reply_to=ports.tokens.reply_address(job.support, ticket.ref),
            in_reply_to=thread.in_reply_to,
            references=thread.references,
            automatic=None,
            from_name=f"{name} ({ports.words.support_name})",
            attachments=[p for p in msg.attachments if p.filename and not p.inline],
            public_author=job.sender,
        ),
        job.now,
    )
    job.answered = True
    ports.lifecycle.agent_responded(ticket.ref, job.now, job.sender)


def agent_status(d: AgentUpdate | CreateTicket, job: Job) -> None:
    """`#status`, through the lifecycle; the customer hears of it unless the agent's own
    answer just told them (a close always sends the closing mail and survey)."""
    sheet = d.commands if isinstance(d, AgentUpdate) else d.on_behalf
    wanted = sheet.changes.status if sheet else None
    if wanted is None or job.ref is None:
        return
    current = job.ticket().status
    if wanted is current:
        return
    job.ports.lifecycle.change_status(
        job.ref,
        wanted,
        job.now,
        actor=job.sender,
        cause="agent command",
        # A ticket opened on a contact's behalf starts with its acknowledgement alone.
        notify=isinstance(d, AgentUpdate) and not job.answered and wanted is not TicketStatus.OPEN,
    )


def recompute_clock(d: AgentUpdate, job: Job) -> None:
    """A new priority or category means new due times and timers; a new agreed date, its
    warning and breach timers."""
    changes = d.commands.changes
    moved = (changes.priority, changes.category, changes.due_at)
    if job.ref is not None and any(value is not None for value in moved):
        job.ports.lifecycle.recompute(job.ref, job.now)


# --- an agent's mail that cannot be carried out -----------------------------------------


def keep_failed_as_note(d: AgentCommandsFailed, job: Job) -> None:
    keep_internal(job, d.new_text)


def record_command_errors(d: AgentCommandsFailed, job: Job) -> None:
    job.event(EventKind.AGENT_COMMANDS_FAILED, errors=list(d.errors))


def reply_command_errors(
    d: AgentCommandsFailed | AgentError | AgentAsksForTicket, job: Job
) -> None:
    """A short reply to the agent only: what failed, and that nothing reached the customer."""
    if not d.errors:
        return
    msg = job.msg
    job.ports.mail.queue(
        job.support,
        Letter(
            kind=MailKind.AGENT_NOTIFICATION,
            template="agent_command_errors",
            context=_errors_context(d, job),
            to=[(job.sender_name, job.sender)],
            ticket=job.ref,
            in_reply_to=msg.message_id,
            references=msg.references,
            automatic="auto-replied",
        ),
        job.now,
    )


def _errors_context(
    d: AgentCommandsFailed | AgentError | AgentAsksForTicket, job: Job
) -> CommandErrors:
    errors = [job.ports.words.fault(error) for error in d.errors]  # in the mail's locale
    if job.ref is None:
        return CommandErrors(errors, "")
    tokens, agent = job.ports.tokens, job.sender
    return CommandErrors(
        errors,
        str(job.ref),
        kept_as_note=isinstance(d, AgentCommandsFailed),
        answer_address=tokens.reply_address(job.support, job.ref, TokenPurpose.AGENT, agent),
        note_address=tokens.reply_address(job.support, job.ref, TokenPurpose.NOTE, agent),
    )
