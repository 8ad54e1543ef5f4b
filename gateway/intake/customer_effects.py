"""Effects of a customer's mail: open a ticket, thread an update, reject, record a bounce.

Each function does one thing for one decision, through the ports of the
message's transaction (ports.py); effects.py lists them in order per
decision kind. The acknowledgement is queued in the outbox, never sent
here: it leaves only if the whole decision commits.
"""

from __future__ import annotations

from enum import Enum

from gateway.domain import (
    AgentNews,
    CreateTicket,
    EventKind,
    MailKind,
    RecordBounce,
    RejectUnauthorized,
    ThreadUpdate,
    TicketRef,
    TriageOutcome,
    Visibility,
    clean_subject,
    rule_actor,
)
from gateway.intake.agent_effects import add_followers, apply_field_changes, split_followers
from gateway.intake.agent_mail import notify_agents
from gateway.intake.ports import Job
from gateway.intake.steps import message_reply
from gateway.mail.contexts import Acknowledgement, Rejection
from gateway.mail.letters import Letter
from inbound.html_sanitizer import sanitize_html

RULES = "rules"  # the actor of the rules' audit events
# Fields a rule replaces, so an agent's value there stands; tags and followers only add up.
AGENT_DECIDES = ("category", "priority", "queue", "environment", "assignee")


def open_ticket(d: CreateTicket, job: Job) -> None:
    """The ticket row: subject, requester, triage, the rules' assignee and followers, and the
    due times the acknowledgement promises."""
    ports, rules = job.ports, d.rules
    requester, requester_name = job.sender, job.sender_name
    if d.on_behalf is not None and d.on_behalf.requester is not None:
        requester = d.on_behalf.requester
        found = job.directory.contact(requester)
        requester_name = found[1].name if found else ""
    first_due, resolution_due = ports.lifecycle.initial_dues(job.now, d.triage, d.organization_id)
    followers = rules.followers if rules else ()
    job.ref = ports.tickets.create(
        subject=new_subject(d, job),
        requester=requester,
        requester_name=requester_name,
        organization_id=d.organization_id,
        triage=d.triage,
        now=job.now,
        first_response_due=first_due,
        resolution_due=resolution_due,
        assignee=rules.assignee if rules else None,
        followers=split_followers(job.directory, d.organization_id, followers)[0],
    )


def new_subject(d: CreateTicket, job: Job) -> str:
    """What the ticket is about: a follow-up keeps the closed ticket's subject (the reply's
    own is "Re: [#TG-…] Chamado … fechado"); otherwise the mail's, without reply prefixes."""
    if d.follow_up_of is not None:
        earlier = job.ports.tickets.get(d.follow_up_of)
        if earlier is not None and earlier.subject:
            return earlier.subject
    return clean_subject(job.msg.subject or "") or job.ports.words.no_subject


def store_inbound(d: CreateTicket | ThreadUpdate, job: Job) -> None:
    """The sender's new text (quotes stripped), sanitized HTML and attachments."""
    html = job.msg.html_body
    job.keep_received(d.new_text, Visibility.PUBLIC, sanitize_html(html) if html else "")


def record_created(d: CreateTicket, job: Job) -> None:
    triage = d.triage
    job.event(
        EventKind.CREATED,
        reason=d.reason,
        channel_message_id=job.msg.message_id,
        requester=job.ticket().requester,
        triage={
            "queue": triage.queue,
            "priority": int(triage.priority),
            "category": triage.category,
            "environment": triage.environment,
            "tags": list(triage.tags),
        },
    )


def record_rules(d: CreateTicket | ThreadUpdate, job: Job) -> None:
    """Audit: which rules (file, name, version) set which fields (issue 4)."""
    rules = d.rules
    if not rules or not rules.matches:
        return
    job.event(
        EventKind.TRIAGED_BY_RULES,
        RULES,
        rules=[
            {"file": m.file, "line": m.line, "name": m.name, "version": m.version,
             "sets": list(m.sets)}
            for m in rules.matches
        ],
        set_by=dict(rules.set_by),
    )  # fmt: skip


def apply_on_behalf_fields(d: CreateTicket, job: Job) -> None:
    """An agent's `#requester` mail may carry other commands for the new ticket."""
    if d.on_behalf is not None:
        apply_field_changes(job, d.on_behalf.changes)


def follow_cc(d: CreateTicket | ThreadUpdate, job: Job) -> None:
    """Contacts of the ticket's organization who may follow it, CC'd by a customer, become
    followers; the others are dropped (agent_effects.add_followers)."""
    if isinstance(d, CreateTicket) and d.on_behalf is not None:
        return  # the agent's CC are colleagues, not the customer's
    ticket, msg = job.ticket(), job.msg
    others = [
        a.address
        for a in (*msg.to, *msg.cc)
        if a.address not in (job.sender, ticket.requester) and not job.is_support(a.address)
    ]
    add_followers(job, ticket, others)


def start_clock(d: CreateTicket, job: Job) -> None:
    """The SLA clock and its timers; a follow-up is linked to the closed ticket."""
    assert job.ref is not None
    job.ports.lifecycle.on_created(job.ref, d.follow_up_of, job.now)


def acknowledge(d: CreateTicket, job: Job) -> None:
    """The acknowledgement (or a rule's own template) to the requester."""
    ticket = job.ticket()
    template = d.rules.reply_with if d.rules and d.rules.reply_with else "acknowledgement"
    _ticket_mail(job, template, ticket.requester_name, ticket.requester)


def notify_agents_of_new(d: CreateTicket, job: Job) -> None:
    notify_agents(job, AgentNews.NEW, d.new_text, job.msg.attachments, _history(job))


def record_message_added(d: ThreadUpdate, job: Job) -> None:
    job.event(
        EventKind.MESSAGE_ADDED,
        role=d.author_role.value,
        reason=d.reason,
        channel_message_id=job.msg.message_id,
    )


def apply_rules_to_update(d: ThreadUpdate, job: Job) -> None:
    """Rules matching an update change only the fields they name, with an event each,
    and never a field an agent set: the agent's decision stands."""
    rules = d.rules
    if not rules or not rules.matches:
        return
    set_by = dict(rules.set_by)
    wanted = _rule_fields(rules, set_by)
    if "followers" in set_by:
        organization = job.ticket().organization
        wanted["followers"] = split_followers(job.directory, organization, rules.followers)[0]
    assert job.ref is not None
    wanted = _without_agents_fields(job, wanted, set_by)
    changed = job.ports.tickets.change_fields(job.ref, wanted, job.now)
    for name, (old, new) in changed.items():
        job.event(EventKind.FIELD_CHANGED, rule_actor(set_by[name]), field=name, old=old, new=new)
    job.changed.update(changed)


def _without_agents_fields(
    job: Job, wanted: dict[str, object], set_by: dict[str, str]
) -> dict[str, object]:
    """`wanted` less the fields an agent set, each skip recorded: an admin reading the log
    sees which rule would have overwritten whose decision."""
    assert job.ref is not None
    agents = job.ports.tickets.fields_set_by_agents(job.ref)
    skipped = [name for name in AGENT_DECIDES if name in wanted and name in agents]
    ticket = job.ticket() if skipped else None
    for name in skipped:
        job.event(
            EventKind.RULE_SKIPPED,
            rule_actor(set_by[name]),
            field=name,
            rule=set_by[name],
            wanted=_plain(wanted[name]),
            kept=_plain(getattr(ticket, name)),
            set_by=agents[name],
        )
    return {name: value for name, value in wanted.items() if name not in skipped}


def _plain(value: object) -> object:
    """An enum (a priority) as the plain value the event log's JSON holds."""
    return value.value if isinstance(value, Enum) else value


def _rule_fields(rules: TriageOutcome, set_by: dict[str, str]) -> dict[str, object]:
    triage = rules.triage
    wanted: dict[str, object] = {
        name: getattr(triage, name)
        for name in ("category", "priority", "queue", "environment")
        if name in set_by
    }
    if "tags" in set_by:
        wanted["tags"] = list(triage.tags)
    if "assignee" in set_by:
        wanted["assignee"] = rules.assignee
    return wanted


def reply_with_rule_template(d: ThreadUpdate, job: Job) -> None:
    if d.rules and d.rules.reply_with and d.rules.matches:
        _ticket_mail(job, d.rules.reply_with, job.sender_name, job.sender)


def customer_clock(d: ThreadUpdate, job: Job) -> None:
    """A survey answer, a reopen, or the next-response clock starting (the lifecycle)."""
    assert job.ref is not None
    job.ports.lifecycle.customer_replied(job.ref, d.new_text, job.sender, job.now)


def notify_agents_of_update(d: ThreadUpdate, job: Job) -> None:
    notify_agents(job, AgentNews.UPDATE, d.new_text, job.msg.attachments, _history(job))


def _history(job: Job) -> str:
    """The customer's whole text when quoted history was cut from it (the raw store keeps
    the bytes; agents see the text collapsed below the new words)."""
    return message_reply(job.msg).history


def escalate_on_request(d: ThreadUpdate, job: Job) -> None:
    """The customer asked for the next level: the lifecycle takes the ticket one step up
    its queue chain and tells that level, at most once per window, and answers them.
    After `notify_agents_of_update`, so the level they leave reads the request too."""
    if d.escalate:
        assert job.ref is not None
        job.ports.lifecycle.customer_escalation(
            job.ref, job.now, actor=job.sender, author=job.sender_name or job.sender,
            channel="mail", text=d.new_text,
        )  # fmt: skip


def send_rejection(d: RejectUnauthorized, job: Job) -> None:
    """The polite rejection: the official channel, the organization's own instructions
    when it has some, and nothing about any ticket."""
    if not d.notify_sender or job.msg.sender is None:
        return
    job.ports.mail.queue(
        job.support,
        Letter(
            kind=MailKind.REJECTION,
            template=d.template,
            context=Rejection(job.support, d.organization_note),
            to=[("", job.sender)],
            in_reply_to=job.msg.message_id,
            references=job.msg.references,
        ),
        job.now,
    )


def record_bounce(d: RecordBounce, job: Job) -> None:
    """A bounce of our own mail: the requester's address fails, and the ticket says so."""
    if d.ticket is None:
        return
    job.ref = d.ticket
    job.event(
        EventKind.MAIL_BOUNCED, reason=d.reason, bounced_message_id=job.msg.reported_message_id
    )


def _ticket_mail(job: Job, template: str, name: str, address: str) -> None:
    """An automatic reply about a ticket, threaded under the mail it answers."""
    ticket = job.ticket()
    ref: TicketRef = ticket.ref
    ports = job.ports
    ports.mail.queue(
        job.support,
        Letter(
            kind=MailKind.ACKNOWLEDGEMENT,
            template=template,
            context=Acknowledgement.of(ticket, name, job.support, ports.words),
            to=[(name, address)],
            ticket=ref,
            reply_to=ports.tokens.reply_address(job.support, ref),
            in_reply_to=job.msg.message_id,
            references=job.msg.references,
            public_author=job.support,
        ),
        job.now,
    )
