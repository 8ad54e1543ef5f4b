"""What each decision causes, in order: the other half of the pipeline, as data.

`STEPS` (steps.py) decides; the tuples below say what each kind of decision
then does, one effect a line, all inside the message's one transaction and
before its commit. An effect is a small function of the decision and the
`Job` (ports.py); the mail it causes is queued in the outbox, never sent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeAlias, TypeVar

from gateway.domain import (
    AgentAsksForTicket,
    AgentCommandsFailed,
    AgentError,
    AgentUpdate,
    CreateTicket,
    Decision,
    Duplicate,
    HoldLoop,
    IgnoreAutomated,
    Quarantine,
    RecordBounce,
    RejectUnauthorized,
    ThreadUpdate,
    TicketRef,
)
from gateway.intake.agent_effects import (
    agent_status,
    apply_agent_fields,
    keep_failed_as_note,
    keep_note,
    recompute_clock,
    record_command_errors,
    relay_answer,
    reply_command_errors,
)
from gateway.intake.agent_mail import announce_hand_offs, send_fresh_notification
from gateway.intake.customer_effects import (
    acknowledge,
    apply_on_behalf_fields,
    apply_rules_to_update,
    customer_clock,
    escalate_on_request,
    follow_cc,
    notify_agents_of_new,
    notify_agents_of_update,
    open_ticket,
    record_bounce,
    record_created,
    record_message_added,
    record_rules,
    reply_with_rule_template,
    send_rejection,
    start_clock,
    store_inbound,
)
from gateway.intake.hold_effects import cool_down_and_tell, hold_for_review
from gateway.intake.ports import Job

D = TypeVar("D")
Effect: TypeAlias = Callable[[D, Job], None]

CREATE_TICKET: tuple[Effect[CreateTicket], ...] = (
    open_ticket,  # the row: requester, triage, rules' assignee/followers, first due times
    store_inbound,  # the new text, sanitized HTML and attachments in the public thread
    record_created,  # event: created, with the triage it started with
    record_rules,  # event: which rules (file, name, version) set which fields
    apply_on_behalf_fields,  # a ticket an agent opened for a contact: its other #commands
    follow_cc,  # CC'd contacts of the organization follow the ticket; others are dropped
    start_clock,  # the SLA clock and its timers; a follow-up is linked to the closed ticket
    agent_status,  # the on-behalf ticket's #status, through the lifecycle
    acknowledge,  # the acknowledgement (or the rule's reply_with) to the requester
    notify_agents_of_new,  # the queue's agents (the assignee, once there is one)
)

THREAD_UPDATE: tuple[Effect[ThreadUpdate], ...] = (
    store_inbound,  # the customer's new text in the public thread
    record_message_added,  # event: who wrote and how the mail was matched
    apply_rules_to_update,  # rules change only the fields they name, an event each
    announce_hand_offs,  # a rule that moved the queue tells the new queue
    record_rules,  # event: which rules matched
    reply_with_rule_template,  # a rule's reply_with template to the sender
    customer_clock,  # a survey answer, an approval (close), a reopen, or the next-response clock
    follow_cc,  # CC'd contacts of the organization follow the ticket
    notify_agents_of_update,  # the assignee or the queue's agents
    escalate_on_request,  # "quero escalar": one level up, that level told (once per window)
)

AGENT_UPDATE: tuple[Effect[AgentUpdate], ...] = (
    apply_agent_fields,  # #queue #priority #category #environment #assign #tag #escalate
    announce_hand_offs,  # a new queue, a new or dropped assignee hear, with the whole ticket
    send_fresh_notification,  # #take: the ticket's mail afresh, to this agent
    keep_note,  # #note or the note address: internal, the other agents are told
    relay_answer,  # the answer to the requester and followers from the support address
    agent_status,  # #status through the lifecycle (the one writer of status)
    recompute_clock,  # a new priority or category: new due times and timers
)

AGENT_COMMANDS_FAILED: tuple[Effect[AgentCommandsFailed], ...] = (
    keep_failed_as_note,  # nothing applied, nothing to the customer: the text stays internal
    record_command_errors,  # event: which commands failed
    reply_command_errors,  # the agent alone hears what failed
)

AGENT_ASKS_FOR_TICKET: tuple[Effect[AgentAsksForTicket], ...] = (
    reply_command_errors,  # commands or text in an unsigned mail: nothing was done, and why
    send_fresh_notification,  # the ticket's mail with this agent's signed addresses
)

AGENT_ERROR: tuple[Effect[AgentError], ...] = (
    reply_command_errors,  # unsigned, unauthenticated or ticketless: the agent hears why
)

REJECT_UNAUTHORIZED: tuple[Effect[RejectUnauthorized], ...] = (
    send_rejection,  # the polite rejection, at most once a day, never to a forged sender
)

RECORD_BOUNCE: tuple[Effect[RecordBounce], ...] = (
    record_bounce,  # a bounce of our mail is noted on its ticket
)

QUARANTINE: tuple[Effect[Quarantine], ...] = (
    hold_for_review,  # kept for the admins (`ticketgate quarantine`), never answered
)

HOLD_LOOP: tuple[Effect[HoldLoop], ...] = (
    hold_for_review,  # this mail is kept like a quarantined one, unanswered
    cool_down_and_tell,  # its source is held for the cool-down; the admins hear once
)

NOTHING: tuple[Effect[IgnoreAutomated | Duplicate], ...] = ()  # stored, unanswered


def _run(effects: Sequence[Effect[D]], decision: D, job: Job) -> None:
    for effect in effects:
        effect(decision, job)


def carry_out(decision: Decision, job: Job) -> TicketRef | None:
    """Run the decision's effects in order; returns the ticket it concerned, if any."""
    match decision:
        case CreateTicket():
            _run(CREATE_TICKET, decision, job)
        case ThreadUpdate():
            job.ref = decision.ticket
            _run(THREAD_UPDATE, decision, job)
        case AgentUpdate():
            job.ref = decision.ticket
            _run(AGENT_UPDATE, decision, job)
        case AgentCommandsFailed():
            job.ref = decision.ticket
            _run(AGENT_COMMANDS_FAILED, decision, job)
        case AgentAsksForTicket():
            job.ref = decision.ticket
            _run(AGENT_ASKS_FOR_TICKET, decision, job)
        case AgentError():
            _run(AGENT_ERROR, decision, job)
        case RejectUnauthorized():
            _run(REJECT_UNAUTHORIZED, decision, job)
        case RecordBounce():
            _run(RECORD_BOUNCE, decision, job)
        case Quarantine():
            _run(QUARANTINE, decision, job)
        case HoldLoop():
            _run(HOLD_LOOP, decision, job)
        case IgnoreAutomated() | Duplicate():
            _run(NOTHING, decision, job)
    return job.ref
