"""The kinds of things that happen to a ticket: events in its log, timers, SLA clocks.

Stored as their string values (the event log's `kind`, the timers' `kind`
and `sla` columns), so a value here is a contract with rows already written.
"""

from __future__ import annotations

from enum import StrEnum


class EventKind(StrEnum):
    """One line of a ticket's event log (`tickets show`)."""

    CREATED = "created"
    MESSAGE_ADDED = "message_added"
    TRIAGED_BY_RULES = "triaged_by_rules"
    FIELD_CHANGED = "field_changed"
    RULE_SKIPPED = "rule_skipped"  # a rule's setting left out: an agent set that field
    STATUS_CHANGED = "status_changed"
    FIRST_RESPONSE = "first_response"
    ESCALATED = "escalated"
    FOLLOWERS_ADDED = "followers_added"
    RECIPIENTS_DROPPED = "recipients_dropped"
    NO_AGENT_TO_NOTIFY = "no_agent_to_notify"
    AGENT_COMMANDS_FAILED = "agent_commands_failed"
    AGENT_ASKED_FOR_TICKET = "agent_asked_for_ticket"
    HANDED_OFF = "handed_off"
    MAIL_QUEUED = "mail_queued"
    MAIL_BOUNCED = "mail_bounced"
    LINKED = "linked"
    REMINDER_SENT = "reminder_sent"
    SURVEY_SENT = "survey_sent"
    SURVEY_ANSWERED = "survey_answered"
    SLA_WARNING = "sla_warning"
    SLA_BREACHED = "sla_breached"
    SLA_ESCALATED = "sla_escalated"
    DUE_WARNING = "due_warning"
    DUE_BREACHED = "due_breached"
    RESOLUTION_ANSWERED = "resolution_answered"  # the customer approved, or said not solved
    CUSTOMER_ESCALATED = "customer_escalated"  # the customer took the ticket one level up
    CUSTOMER_ESCALATION_REFUSED = "customer_escalation_refused"  # too soon after the last
    # Loops and floods (issue 12): a mail on the ticket held, a mail about it not sent.
    MAIL_HELD = "mail_held"
    MAIL_SUPPRESSED = "mail_suppressed"


# An event's actor is an agent's address, a rule (`rule:<name>`), or the gateway itself.
RULE_ACTOR_PREFIX = "rule:"
SYSTEM_ACTORS = frozenset({"ticketgate", "scheduler", "rules"})


def rule_actor(rule_name: str) -> str:
    """The actor of what one rule did to a ticket."""
    return f"{RULE_ACTOR_PREFIX}{rule_name}"


def is_agent_actor(actor: str) -> bool:
    """A person wrote the event, not a rule or the gateway: an agent's decision, which
    the rules leave standing."""
    return not actor.startswith(RULE_ACTOR_PREFIX) and actor not in SYSTEM_ACTORS


class Sla(StrEnum):
    """The three clocks a ticket's SLA targets measure."""

    FIRST_RESPONSE = "first_response"
    NEXT_RESPONSE = "next_response"
    RESOLUTION = "resolution"


class TimerKind(StrEnum):
    """What a pending timer does when it fires (gateway/lifecycle/timers.py)."""

    SLA_WARNING = "sla_warning"
    SLA_BREACH = "sla_breach"
    ESCALATION = "escalation"
    REMINDER = "reminder"
    AUTO_RESOLVE = "auto_resolve"
    AUTO_CLOSE = "auto_close"
    DUE_WARNING = "due_warning"  # the date agreed with the customer (`#due`) is near
    DUE_BREACH = "due_breach"  # … and passed with the ticket still unresolved


class AgentNews(StrEnum):
    """Why agents are mailed about a ticket (the agent notification's `event`)."""

    NEW = "new"
    UPDATE = "update"
    NOTE = "note"
    ESCALATED = "escalated"  # an agent's #escalate
    HANDED_OFF = "handed_off"  # the ticket moved to this agent's queue
    ASSIGNED = "assigned"  # the ticket is now this agent's
    UNASSIGNED = "unassigned"  # the ticket left this agent (a queue change)
    REQUESTED = "requested"  # the agent asked for the ticket (#take, or [#REF] by mail)
    CUSTOMER_ESCALATED = "customer_escalated"  # the customer asked (mail or link)
