"""What an agent's mail decides: the signed-address and authentication checks, and the
commands' own mistakes, before any of it is carried out (the `decide` step's agent half).
"""

from __future__ import annotations

from gateway.domain import (
    AgentAsksForTicket,
    AgentCommandsFailed,
    AgentError,
    AgentUpdate,
    CommandSheet,
    CreateTicket,
    Decision,
    SenderAuth,
    ThreadMatch,
    ThreadSource,
    TokenPurpose,
)
from gateway.domain.faults import Fault
from gateway.intake.assessment import Assessment
from gateway.intake.facts import Facts

UNSIGNED = Fault(
    "unsigned",
    "to act on a ticket, reply to the ticket's notification mail (its signed reply address "
    "proves the answer is yours); nothing was done. A fresh notification with your signed "
    "addresses follows",
)
NOT_AUTHENTICATED = Fault(
    "not_authenticated",
    "your mail did not pass sender authentication (DKIM/SPF/DMARC) at our "
    "mail server, so it cannot act for support; nothing was done",
)
NO_TICKET = Fault(
    "no_ticket",
    "this mail names no ticket: reply to a ticket's mail, or start a new one "
    "with '#requester customer@example.com' to open a ticket for that customer",
)


def agent_decision(a: Assessment, facts: Facts) -> Decision:
    """An agent acts for support only through a signed address (and a pass where the
    border MTA vouches for senders); a mistake in any command changes nothing."""
    if facts.trusted_authserv_ids and a.auth is not SenderAuth.PASS:
        return AgentError(
            "agent mail not authenticated",
            errors=(NOT_AUTHENTICATED,),
        )
    sheet = a.commands
    assert sheet is not None  # read_agent_commands ran for every agent
    if a.ticket is None:
        return _agent_without_ticket(a, sheet, facts)
    if not _signed_for_agents(a.thread):
        # A From header is easy to forge; acting for support needs the signed agent address.
        # The ticket's mail goes afresh to the agent's own directory address instead.
        wrote = bool(sheet.lines or sheet.text.strip())
        return AgentAsksForTicket(
            "agent mail without a signed agent address: a fresh notification instead",
            ticket=a.ticket.ref,
            errors=(UNSIGNED,) if wrote else (),
        )
    errors = sheet.errors + _escalation_errors(a.ticket.queue, sheet, facts)
    if errors:
        return AgentCommandsFailed(
            "agent commands failed", ticket=a.ticket.ref, errors=errors, new_text=a.new_text
        )
    source = a.thread.source.value if a.thread else "?"
    return AgentUpdate(f"agent replied; matched by {source}", ticket=a.ticket.ref, commands=sheet)


def _escalation_errors(
    current_queue: str | None, sheet: CommandSheet, facts: Facts
) -> tuple[str, ...]:
    """`#escalate` needs a next level for the queue the ticket is (or will be) in."""
    if not sheet.changes.escalate:
        return ()
    queue_id = sheet.changes.queue or current_queue
    queue = facts.directory.queue(queue_id or "")
    if queue is None or not queue.escalates_to:
        hint = "escalates_to in directory.yaml"
        english = f"#escalate: queue '{queue_id}' has no next level ({hint})"
        return (Fault("no_next_level", english, value=queue_id or ""),)
    return ()


def _signed_for_agents(thread: ThreadMatch | None) -> bool:
    return (
        thread is not None
        and thread.source is ThreadSource.REPLY_TOKEN
        and thread.purpose in (TokenPurpose.AGENT, TokenPurpose.NOTE)
    )


def _agent_without_ticket(a: Assessment, sheet: CommandSheet, facts: Facts) -> Decision:
    """An agent writing to the support address opens a ticket for a customer (#requester)."""
    if sheet.requester and not sheet.errors:
        org = facts.directory.organization_of(sheet.requester)
        queue = sheet.changes.queue or (a.triage.triage.queue if a.triage else None)
        front = facts.directory.front_desk
        errors = _escalation_errors(queue or (front.id if front else None), sheet, facts)
        if errors:
            return AgentError("agent mail could not be carried out", errors=errors)
        return CreateTicket(
            f"agent opened a ticket on behalf of {sheet.requester}",
            organization_id=org.id if org else None,
            new_text=a.new_text,
            rules=a.triage,
            history=a.history,
            on_behalf=sheet,
        )
    errors = sheet.errors or (NO_TICKET,)
    return AgentError("agent mail could not be carried out", errors=tuple(errors))
