"""The SLA clock in the store: read a ticket's `ClockState`, apply one step, save it back.

Intake's hooks (a ticket opened, an agent's answer, a status change) and the timers
(gateway/lifecycle/timers.py) come through here: each step reads the ticket's clock
columns (storage/lifecycle.py), asks the pure functions of gateway/lifecycle/sla.py
what follows, writes the status, due times and pending timers, records the transition
as an event with its cause, and has gateway/lifecycle/customer_mail.py tell the
customer. Everything happens in the step's transaction; nothing here commits.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from gateway.domain import EventKind, TicketRecord, TicketRef, TicketStatus, Triage
from gateway.domain.policy import Policy
from gateway.lifecycle import customer_mail
from gateway.lifecycle import sla as lifecycle
from gateway.lifecycle.sla import ClockState
from gateway.lifecycle.step import GATEWAY, Step
from storage.lifecycle import WantedTimer

FIRST_ANSWER = "first agent answer"  # the cause of NEW -> OPEN when an agent first answers


def state_of(fields: TicketRecord) -> ClockState:
    """The pure lifecycle's view of a ticket's stored clock columns."""
    return ClockState(
        status=fields.status,
        priority=fields.priority,
        category=fields.category,
        organization=fields.organization,
        created_at=fields.created_at,
        status_since=fields.status_since,
        first_responded_at=fields.first_responded_at,
        awaiting_since=fields.awaiting_since,
        paused_at=fields.paused_at,
        paused_total=fields.paused,
        paused_elapsed=fields.paused_elapsed,
        due_at=fields.due_at,
    )


def save(step: Step, ref: TicketRef, state: ClockState, *, fresh: bool = False) -> None:
    """Write the clock, its due times, and exactly the timers this state wants pending
    (`fresh`: a ticket created in this transaction, which has no timers yet)."""
    dues = lifecycle.compute_dues(state, step.policy)
    store = step.store
    store.save_clock(
        ref,
        status=state.status,
        status_since=state.status_since,
        first_responded_at=state.first_responded_at,
        awaiting_since=state.awaiting_since,
        paused_at=state.paused_at,
        paused=state.paused_total,
        paused_elapsed=state.paused_elapsed,
        first_response_due=dues.first_response,
        next_response_due=dues.next_response,
        resolution_due=dues.resolution,
        now=step.now,
    )
    store.sync_timers(
        ref,
        [
            WantedTimer(t.kind.value, t.key, t.due, t.sla.value if t.sla else None, t.level)
            for t in lifecycle.desired_timers(state, step.policy)
        ],
        step.now,
        fresh=fresh,
    )


def recompute(step: Step, ref: TicketRef) -> None:
    """Re-derive due times and timers, e.g. after a priority, category or agreed date
    change."""
    save(step, ref, state_of(step.store.clock(ref)))


def initial_dues(
    policy: Policy, now: datetime, triage: Triage, organization: str | None
) -> tuple[datetime | None, datetime | None]:
    """First-response and resolution due times of a ticket opened now (for the ack)."""
    state = lifecycle.new_ticket_state(now, triage.priority, triage.category, organization)
    dues = lifecycle.compute_dues(state, policy)
    return dues.first_response, dues.resolution


def on_created(step: Step, ref: TicketRef, linked_from: TicketRef | None) -> None:
    """Start the SLA clock and the timers of a ticket created in this transaction; tie a
    follow-up ticket to the closed one."""
    fields = step.store.clock(ref)
    state = lifecycle.new_ticket_state(
        step.now, fields.priority, fields.category, fields.organization
    )
    state = replace(state, first_responded_at=fields.first_responded_at, due_at=fields.due_at)
    # An agent opening a ticket on a contact's behalf may agree a date and set its status.
    save(step, ref, lifecycle.transition(state, fields.status, step.now, step.policy), fresh=True)
    if linked_from is not None:
        step.store.link(ref, linked_from)
        tickets = step.tickets
        tickets.record_event(ref, EventKind.LINKED, GATEWAY, step.now, linked_from=str(linked_from))
        tickets.record_event(linked_from, EventKind.LINKED, GATEWAY, step.now, linked_to=str(ref))


def agent_responded(step: Step, ref: TicketRef, actor: str) -> None:
    """A public answer from an agent: meets the first/next response targets, and the
    first one takes a NEW ticket to OPEN."""
    fields = step.store.clock(ref)
    state = lifecycle.agent_responded(state_of(fields), step.now)
    if state.status is TicketStatus.NEW:
        state = lifecycle.transition(state, TicketStatus.OPEN, step.now, step.policy)
    save(step, ref, state)
    tickets = step.tickets
    if fields.first_responded_at is None:
        tickets.record_event(ref, EventKind.FIRST_RESPONSE, actor, step.now)
    if fields.status is not state.status:
        tickets.record_event(
            ref, EventKind.STATUS_CHANGED, actor, step.now, old=fields.status.value,
            new=state.status.value, cause=FIRST_ANSWER,
        )  # fmt: skip


def change_status(
    step: Step, ref: TicketRef, new: TicketStatus, *, actor: str, cause: str, notify: bool
) -> TicketStatus:
    """Move a ticket to `new` (pausing or resuming the SLA clock) and tell the customer;
    returns the status it had."""
    fields = step.store.clock(ref)
    state = lifecycle.transition(state_of(fields), new, step.now, step.policy)
    settle(step, fields, state, actor=actor, cause=cause, notify=notify)
    return fields.status


def settle(
    step: Step,
    fields: TicketRecord,
    state: ClockState,
    *,
    actor: str,
    cause: str,
    notify: bool,
) -> None:
    """Save `state` over the clock read as `fields`; a new status is recorded with its
    cause and, when it is news to the customer (and `notify`), mailed to them. A close
    always mails, with the survey."""
    save(step, fields.ref, state)
    if state.status is fields.status:
        return
    step.tickets.record_event(
        fields.ref,
        EventKind.STATUS_CHANGED,
        actor,
        step.now,
        old=fields.status.value,
        new=state.status.value,
        cause=cause,
    )
    if state.status is TicketStatus.CLOSED:
        customer_mail.closed(step, fields, cause)
    elif notify and state.status in lifecycle.CUSTOMER_VISIBLE:
        customer_mail.status_changed(step, fields, state, cause)
