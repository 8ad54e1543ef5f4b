"""What each kind of timer does when it fires, as a table from `TimerKind` to one function.

The sweeper (gateway/lifecycle/sweeper.py) claims a due timer and calls `fire` in that
timer's own transaction. `fire` locks the ticket's clock row and hands a `Firing` to the
row of `EFFECTS` for the timer's kind; each effect first checks the ticket is still in
the state the timer was set for (else "stale": a fired timer is never pending again),
then moves the clock (gateway/lifecycle/clock.py) and queues its mail. The returned word
names what happened, for the logs and `scheduler run-once --json`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from gateway.domain import EventKind, TicketStatus, TimerKind
from gateway.lifecycle import clock, customer_mail, notices
from gateway.lifecycle import sla as lifecycle
from gateway.lifecycle.step import SCHEDULER, STALE, Firing, Step
from storage.records import TimerRecord

Effect = Callable[[Firing], str]


def remind(firing: Firing) -> str:
    """Still waiting on the customer `reminder_after` later: remind them, once."""
    step, fields = firing.step, firing.fields
    if fields.status is not TicketStatus.WAITING_CUSTOMER:
        return STALE
    customer_mail.reminder(step, fields, firing.state)
    step.tickets.record_event(
        fields.ref, EventKind.REMINDER_SENT, SCHEDULER, step.now, timer=firing.timer.key
    )
    return "reminder"


def auto_resolve(firing: Firing) -> str:
    """No answer from the customer in `resolve_after`: resolved, and the customer is told
    when it will close."""
    step, fields = firing.step, firing.fields
    if fields.status is not TicketStatus.WAITING_CUSTOMER:
        return STALE
    policy = step.policy
    resolved = lifecycle.transition(firing.state, TicketStatus.RESOLVED, step.now, policy)
    clock.settle(
        step, fields, resolved, actor=SCHEDULER,
        cause=f"no answer from the customer in {policy.resolve_after}", notify=False,
    )  # fmt: skip
    customer_mail.auto_resolved(step, fields, resolved)
    return "auto_resolved"


def auto_close(firing: Firing) -> str:
    """Resolved and quiet for `close_after`: closed (the close mail and survey follow)."""
    step, fields = firing.step, firing.fields
    if fields.status is not TicketStatus.RESOLVED:
        return STALE
    policy = step.policy
    closed = lifecycle.transition(firing.state, TicketStatus.CLOSED, step.now, policy)
    clock.settle(
        step, fields, closed, actor=SCHEDULER,
        cause=f"no answer in {policy.close_after} after it was resolved", notify=True,
    )  # fmt: skip
    return "auto_closed"


# The table: what a timer of each kind does, and what `fire` reports for it.
EFFECTS: Mapping[TimerKind, Effect] = MappingProxyType(
    {
        # fires when                                  -> does                -> reports
        # waiting_customer, reminder_after passed     -> mail the customer   -> "reminder"
        TimerKind.REMINDER: remind,
        # waiting_customer, resolve_after passed      -> resolved + mail     -> "auto_resolved"
        TimerKind.AUTO_RESOLVE: auto_resolve,
        # resolved, close_after passed                -> closed + survey     -> "auto_closed"
        TimerKind.AUTO_CLOSE: auto_close,
        # an SLA target is warn_before away           -> analyst or queue    -> "sla_warning"
        TimerKind.SLA_WARNING: notices.warning,
        # an SLA target passed                        -> analyst or queue    -> "sla_breached"
        TimerKind.SLA_BREACH: notices.breach,
        # still unmet, each escalate_every after that -> next level up       -> "sla_escalated"
        TimerKind.ESCALATION: notices.escalation,
        # the date agreed by #due is warn_before away -> analyst or queue    -> "due_warning"
        TimerKind.DUE_WARNING: notices.due_warning,
        # the agreed date passed, ticket unresolved   -> analyst or queue    -> "due_breached"
        TimerKind.DUE_BREACH: notices.due_breach,
    }
)


def fire(step: Step, timer: TimerRecord) -> str:
    """Carry out one claimed timer; returns what it did (for logs and run-once)."""
    fields = step.store.clock(timer.ref, lock=True)
    firing = Firing(step, timer, fields, clock.state_of(fields))
    return EFFECTS[TimerKind(timer.kind)](firing)
