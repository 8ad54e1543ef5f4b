"""The inbound pipeline: small named steps from a parsed message to one Decision.

Each step answers one question about an immutable `Assessment` and returns
either a new Assessment for the next step or the final `Decision`. Steps do
no I/O: what they must know about the world (tickets, the directory, tokens,
recent rejections) comes through the read-only `Facts` port (facts.py), which
the use case backs with its open transaction. The order is data: `STEPS`
below; what each decision then causes is data too (effects.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime

from gateway.domain import (
    AuthorRole,
    AutomatedKind,
    CreateTicket,
    Decision,
    Directory,
    Duplicate,
    IgnoreAutomated,
    ParsedMessage,
    Permission,
    Quarantine,
    RecordBounce,
    RejectUnauthorized,
    SenderAuth,
    ThreadUpdate,
    TokenPurpose,
    TriageInput,
)
from gateway.domain.commands import cut_at_reply_marker, read_commands
from gateway.domain.customer_intent import asks_to_escalate
from gateway.domain.flood import QuarantineCause
from gateway.intake.agent_decision import agent_decision
from gateway.intake.assessment import Assessment
from gateway.intake.facts import Facts
from gateway.intake.flood import cap_new_tickets, detect_loop, hold_cooling_sources, read_flow
from inbound.automated import classify_automated
from inbound.reply_text import Reply, source_text, split_reply
from inbound.sender_auth import sender_authentication
from inbound.thread_match import match_thread

Step = Callable[[Assessment, Facts], "Assessment | Decision"]
Guard = Callable[["Decision", Assessment, Facts], "Decision"]


def dedup_key(msg: ParsedMessage) -> str:
    """Message-ID identifies a mail across redelivery; without one, its bytes do."""
    if not msg.message_id:
        return f"sha256:{msg.raw_sha256}"
    if len(msg.message_id) > 200:  # a key must fit its column whatever a sender writes
        return "mid-sha256:" + hashlib.sha256(msg.message_id.encode()).hexdigest()
    return f"mid:{msg.message_id}"


# --- steps -------------------------------------------------------------------------


def skip_duplicate(a: Assessment, facts: Facts) -> Assessment | Decision:
    if facts.already_received(a.dedup_key):
        return Duplicate("already received: nothing new is made")
    return a


def refuse_oversized(a: Assessment, facts: Facts) -> Assessment | Decision:
    if a.message.size > facts.max_message_bytes:
        return Quarantine(
            f"{a.message.size} bytes is over max_message_bytes ({facts.max_message_bytes})",
            cause=QuarantineCause.OVERSIZED,
        )
    return a


def require_sender(a: Assessment, facts: Facts) -> Assessment | Decision:
    sender = a.message.sender
    if sender is None:
        return Quarantine("no usable From address", cause=QuarantineCause.NO_SENDER)
    if any(sender.address == s for s in facts.support_addresses):
        return IgnoreAutomated("mail from our own address (loop)")
    return a


def ignore_automated(a: Assessment, facts: Facts) -> Assessment | Decision:
    verdict = classify_automated(a.message)
    if verdict is None:
        return a
    if verdict.kind is not AutomatedKind.BOUNCE:
        return IgnoreAutomated(verdict.reason)
    # A bounce of our own mail is recorded on its ticket: the requester's address fails.
    reported = a.message.reported_message_id
    ticket = facts.ref_for_sent_message_id(reported) if reported else None
    return RecordBounce(verdict.reason, ticket=ticket)


def authenticate_sender(a: Assessment, facts: Facts) -> Assessment | Decision:
    return replace(a, auth=sender_authentication(a.message, facts.trusted_authserv_ids))


def find_thread(a: Assessment, facts: Facts) -> Assessment | Decision:
    match = match_thread(a.message, facts.support_addresses, facts.tokens, facts)
    ticket = facts.ticket(match.ref) if match else None
    return replace(a, thread=match if ticket else None, ticket=ticket)


def identify_author(a: Assessment, facts: Facts) -> Assessment | Decision:
    """Who the sender is to support, and to the matched ticket if there is one: a
    participant only with the right to reply on that ticket's organization (seed 001)."""
    assert a.message.sender is not None
    address = a.message.sender.address
    directory = facts.directory
    found = directory.contact(address)
    organization = directory.organization_of(address)
    may_open = directory.may(address, organization.id if organization else None, Permission.OPEN)
    role = AuthorRole.STRANGER
    if directory.agent(address):
        role = AuthorRole.AGENT
    elif a.ticket is not None:
        if address == a.ticket.requester.lower():
            role = AuthorRole.REQUESTER
        elif directory.may(address, a.ticket.organization_id, Permission.REPLY):
            role = AuthorRole.CONTACT
    return replace(
        a,
        role=role,
        organization=organization,
        contact=found[1] if found else None,
        may_open_tickets=may_open,
    )


def refuse_forged_sender(a: Assessment, facts: Facts) -> Assessment | Decision:
    """A failed sender check means the From is not who wrote it: never act on it."""
    if a.auth is SenderAuth.FAIL:
        return Quarantine(
            "sender failed authentication (Authentication-Results); not answered",
            cause=QuarantineCause.FORGED,
        )
    return a


def message_reply(msg: ParsedMessage) -> Reply:
    """What the sender newly wrote, and the whole text it was taken from."""
    # Cut at our "reply above" marker after any HTML is turned into text, so an
    # HTML-only reply cannot carry a quoted notification through.
    return split_reply(cut_at_reply_marker(source_text(msg.text_body, msg.html_body)))


def message_new_text(msg: ParsedMessage) -> str:
    """What the sender newly wrote; shared by the pipeline and `rules test`."""
    return message_reply(msg).new


def extract_new_text(a: Assessment, facts: Facts) -> Assessment | Decision:
    reply = message_reply(a.message)
    return replace(a, new_text=reply.new, history=reply.history)


def read_agent_commands(a: Assessment, facts: Facts) -> Assessment | Decision:
    """An agent's `#` lines change the ticket and never reach the customer."""
    if a.role is not AuthorRole.AGENT:
        return a
    assert a.message.sender is not None
    sheet = read_commands(
        a.new_text, facts.directory, a.message.sender.address, facts.command_terms()
    )
    if a.thread is not None and a.thread.purpose is TokenPurpose.NOTE:
        sheet = replace(sheet, is_note=True)
    return replace(a, commands=sheet, new_text=sheet.text)


def triage_input(
    msg: ParsedMessage,
    new_text: str,
    directory: Directory,
    *,
    is_new: bool,
    local_time: datetime,
    in_business_hours: bool,
) -> TriageInput:
    """What rules see of a message; shared by the pipeline and `rules test`."""
    assert msg.sender is not None
    found = directory.contact(msg.sender.address)
    organization = directory.organization_of(msg.sender.address)
    return TriageInput(
        sender=msg.sender.address,
        sender_name=msg.sender.name,
        organization=organization.id if organization else None,
        contact=found[1] if found else None,
        is_agent=directory.agent(msg.sender.address) is not None,
        recipients=msg.recipients,
        subject=msg.subject,
        body=new_text,
        headers=msg.headers,
        attachments=tuple((p.filename, p.content_type) for p in msg.attachments),
        is_new=is_new,
        local_time=local_time,
        in_business_hours=in_business_hours,
    )


def apply_rules(a: Assessment, facts: Facts) -> Assessment | Decision:
    """The admins' triage rules; an `ignore` or `reject` rule decides here."""
    msg = a.message
    assert msg.sender is not None
    outcome = facts.triage(
        triage_input(
            msg,
            a.new_text,
            facts.directory,
            is_new=_opens_a_ticket(a),
            local_time=facts.local_now(),
            in_business_hours=facts.in_business_hours(),
        )
    )
    rule_names = ", ".join(m.name for m in outcome.matches)
    if outcome.ignore:
        return IgnoreAutomated(f"ignored by rule(s): {rule_names}", rules=outcome)
    if outcome.reject_with:
        sender = msg.sender.address
        recently = facts.rejections_recently_sent_to(sender)
        return RejectUnauthorized(
            f"rejected by rule(s): {rule_names}",
            notify_sender=recently == 0 and a.auth is not SenderAuth.FAIL,
            template=outcome.reject_with,
            rules=outcome,
            organization_id=a.organization.id if a.organization else None,
            organization_note=_rejection_note(a),
        )
    return replace(a, triage=outcome)


def _opens_a_ticket(a: Assessment) -> bool:
    """New mail for the rules' `on:`: it names no ticket, or its author is no participant
    of the one it names (`decide` then opens a ticket or rejects; it never threads)."""
    return a.ticket is None or a.role is AuthorRole.STRANGER


def decide(a: Assessment, facts: Facts) -> Assessment | Decision:
    """Thread an update, open a ticket, or reject: the official-channel policy (seed 001)."""
    org_id = a.organization.id if a.organization else None
    if a.role is AuthorRole.AGENT:
        return agent_decision(a, facts)
    if a.ticket is not None and a.role is not AuthorRole.STRANGER:
        source = a.thread.source.value if a.thread else "?"
        follow_up = facts.follow_up_triage(a.ticket.ref, a.new_text)
        if follow_up is not None:  # seed 002: a reply to a closed ticket opens a new one
            return CreateTicket(
                f"reply to closed {a.ticket.ref}: a new ticket linked to it",
                organization_id=org_id or a.ticket.organization_id,
                new_text=a.new_text,
                rules=follow_up,
                history=a.history,
                follow_up_of=a.ticket.ref,
            )
        return ThreadUpdate(
            f"{a.role.value} replied; matched by {source}",
            ticket=a.ticket.ref,
            author_role=a.role,
            organization_id=org_id,
            new_text=a.new_text,
            rules=a.triage,
            history=a.history,
            escalate=asks_to_escalate(a.new_text, facts.customer_escalation_phrases),
        )
    if a.may_open_tickets:
        reason = "authorized contact opened a ticket"
        if a.ticket is not None:
            reason += " (not a participant of the ticket its mail named)"
        return CreateTicket(
            reason, organization_id=org_id, new_text=a.new_text, rules=a.triage, history=a.history
        )
    sender = a.message.sender.address if a.message.sender else ""
    recently = facts.rejections_recently_sent_to(sender)
    return RejectUnauthorized(
        "sender is not an authorized contact"
        + ("" if a.ticket is None else " of the ticket named")
        + ("; rejection already sent recently" if recently else ""),
        organization_id=org_id,
        notify_sender=recently == 0,
        organization_note=_rejection_note(a),
    )


def _rejection_note(a: Assessment) -> str:
    """The sender's organization's own instructions for people it has not authorized:
    all the rejection may say besides the official channel (nothing about a ticket)."""
    return a.organization.rejection_note if a.organization else ""


# The decision process, one question per line, in order.
STEPS: tuple[Step, ...] = (
    skip_duplicate,  # redelivery of a message already decided makes nothing new
    refuse_oversized,  # mail over the size limit is kept, not processed
    require_sender,  # no From, or our own address: nothing to answer
    ignore_automated,  # auto-replies, bulk and bounces are never answered (RFC 3834)
    authenticate_sender,  # what trusted Authentication-Results say (RFC 8601)
    refuse_forged_sender,  # a failed check is quarantined and never answered
    find_thread,  # reply token, then In-Reply-To/References, then [#REF]
    identify_author,  # requester, contact, agent or stranger
    extract_new_text,  # only what the sender newly wrote
    read_flow,  # what it adds to the flood counts; does it look machine-made?
    hold_cooling_sources,  # a sender or ticket cooling down after a loop: held
    detect_loop,  # too much mail from one sender or on one thread, or loop signals: held
    read_agent_commands,  # an agent's #status, #assign, #note … lines
    apply_rules,  # the admins' triage rules: classify, route, or ignore/reject
    decide,  # create, thread or reject
)


# What a decision must still pass, in order, once a step has reached it.
GUARDS: tuple[Guard, ...] = (
    cap_new_tickets,  # over the per-sender or global limit of tickets opened: held
)


# A mail an admin let out of the quarantine: it is already received, and the admin
# vouched for it, so no flood limit or cool-down holds it again.
RELEASED_STEPS: tuple[Step, ...] = tuple(
    s for s in STEPS if s not in (skip_duplicate, hold_cooling_sources, detect_loop)
)
RELEASED_GUARDS: tuple[Guard, ...] = ()


def assess(
    msg: ParsedMessage,
    facts: Facts,
    steps: Sequence[Step] = STEPS,
    guards: Sequence[Guard] = GUARDS,
) -> tuple[Assessment, Decision]:
    """The decision, and what the steps had learned when they reached it (the use case
    records the flood counts from it)."""
    assessment = Assessment(message=msg, dedup_key=dedup_key(msg))
    for step in steps:
        result = step(assessment, facts)
        if isinstance(result, Decision):
            for guard in guards:
                result = guard(result, assessment, facts)
            return assessment, result
        assessment = result
    raise RuntimeError("the pipeline ended without a decision")


def run(msg: ParsedMessage, facts: Facts, steps: Sequence[Step] = STEPS) -> Decision:
    return assess(msg, facts, steps)[1]
