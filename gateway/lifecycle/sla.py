"""The ticket lifecycle as pure functions: the SLA clock, status timers, transitions.

Sits between the policy (gateway/domain/policy.py) and the code that touches
the store (gateway/lifecycle/clock.py and timers.py, behind the facade that
intake and the sweeper call, gateway/lifecycle/actions.py).
Nothing here reads the clock, the database or the directory files: each
function takes `now`, the ticket's `ClockState` and the `Policy`, and answers
with values — the due times, the set of timers that should be pending, who
an escalation notifies. The SLA clock counts business time from creation and
pauses while the ticket waits on someone else; a due time is the instant at
which `target + business time spent paused` has elapsed, so pausing,
resuming and priority changes are all one recomputation.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from gateway.domain import Directory, Priority, Sla, TicketStatus, TimerKind, unique
from gateway.domain.customer_intent import Verdict
from gateway.domain.policy import Duration, Policy

PAUSED = frozenset({TicketStatus.WAITING_CUSTOMER, TicketStatus.WAITING_THIRD_PARTY})
RUNNING = frozenset({TicketStatus.NEW, TicketStatus.OPEN})
# A date agreed with the customer binds until the ticket is resolved, waiting or not.
UNRESOLVED = frozenset(TicketStatus) - {TicketStatus.RESOLVED, TicketStatus.CLOSED}
# Transitions the customer hears about by mail (the others are internal bookkeeping).
CUSTOMER_VISIBLE = frozenset(
    {
        TicketStatus.WAITING_CUSTOMER,
        TicketStatus.WAITING_THIRD_PARTY,
        TicketStatus.RESOLVED,
        TicketStatus.CLOSED,
        TicketStatus.OPEN,
    }
)


@dataclass(frozen=True)
class ClockState:
    """What the lifecycle needs to know about one ticket."""

    status: TicketStatus
    priority: Priority
    category: str
    organization: str | None
    created_at: datetime
    status_since: datetime
    first_responded_at: datetime | None = None
    awaiting_since: datetime | None = None  # a customer message waits for an agent's answer
    paused_at: datetime | None = None
    paused_total: timedelta = timedelta(0)  # business time spent paused
    paused_elapsed: timedelta = timedelta(0)  # the same pauses in calendar (24×7) time
    due_at: datetime | None = None  # the resolution date agreed with the customer (`#due`)


@dataclass(frozen=True)
class Dues:
    first_response: datetime | None
    next_response: datetime | None
    resolution: datetime | None

    def of(self, sla: Sla) -> datetime | None:
        if sla is Sla.FIRST_RESPONSE:
            return self.first_response
        return self.next_response if sla is Sla.NEXT_RESPONSE else self.resolution


@dataclass(frozen=True)
class TimerSpec:
    """A timer that should be pending; `key` names the occurrence, so it fires once."""

    kind: TimerKind
    key: str
    due: datetime
    sla: Sla | None = None
    level: int = 0


def new_ticket_state(
    now: datetime, priority: Priority, category: str, organization: str | None
) -> ClockState:
    return ClockState(TicketStatus.NEW, priority, category, organization, now, now)


def compute_dues(state: ClockState, policy: Policy) -> Dues:
    """Due times for the state as it stands (a pause in progress is not yet counted); a
    target switched off (`null`) has none."""
    targets = policy.targets_for(state.priority, state.category, state.organization)
    first = _due(targets.first_response, state.created_at, state, policy)
    resolution = _due(targets.resolution, state.created_at, state, policy)
    next_due = None
    if state.awaiting_since is not None and state.first_responded_at is not None:
        next_due = _due(targets.next_response, state.awaiting_since, state, policy, paused=False)
    return Dues(first, next_due, resolution)


def _due(
    target: Duration | None,
    start: datetime,
    state: ClockState,
    policy: Policy,
    *,
    paused: bool = True,
) -> datetime | None:
    """`target` after `start`, pushed on by the time spent paused measured in the target's
    own clock: business time for a business target, every hour for a 24×7 one."""
    if target is None:
        return None
    calendar = policy.calendar
    due = target.after(calendar, start)
    if target.calendar_time:
        return due + state.paused_elapsed if paused else due
    return calendar.add(due, state.paused_total if paused else timedelta(0))


def transition(state: ClockState, new: TicketStatus, now: datetime, policy: Policy) -> ClockState:
    """The clock state after a status change: pause entering a wait, resume leaving it."""
    if new == state.status:
        return state
    changed = replace(state, status=new, status_since=now)
    if new in PAUSED and state.paused_at is None:
        # Asking the customer or a third party is itself an answer to the customer.
        return replace(changed, paused_at=now, awaiting_since=None)
    if new not in PAUSED and state.paused_at is not None:
        spent = policy.calendar.between(state.paused_at, now)
        elapsed = max(now - state.paused_at, timedelta(0))
        return replace(
            changed,
            paused_at=None,
            paused_total=state.paused_total + spent,
            paused_elapsed=state.paused_elapsed + elapsed,
        )
    return changed


def agent_responded(state: ClockState, now: datetime) -> ClockState:
    """A public answer by an agent meets the first/next response targets."""
    return replace(state, first_responded_at=state.first_responded_at or now, awaiting_since=None)


def customer_wrote(state: ClockState, now: datetime) -> ClockState:
    """After the first answer, a customer message starts the next-response clock."""
    if state.first_responded_at is None or state.awaiting_since is not None:
        return state
    return replace(state, awaiting_since=now)


def desired_timers(state: ClockState, policy: Policy) -> tuple[TimerSpec, ...]:
    """Every timer that should be pending for this state; others are to be cancelled."""
    calendar = policy.calendar
    out: list[TimerSpec] = []
    if state.status in RUNNING and state.paused_at is None:
        dues = compute_dues(state, policy)
        clocks: list[tuple[Sla, datetime, datetime]] = []  # (sla, started, due)
        if state.first_responded_at is None and dues.first_response:
            clocks.append((Sla.FIRST_RESPONSE, state.created_at, dues.first_response))
        if dues.next_response and state.awaiting_since:
            clocks.append((Sla.NEXT_RESPONSE, state.awaiting_since, dues.next_response))
        if dues.resolution:
            clocks.append((Sla.RESOLUTION, state.created_at, dues.resolution))
        for sla, started, due in clocks:
            occurrence = f"{sla.value}:{started.isoformat()}"
            warn = policy.warn_before.before(calendar, due)
            if started < warn < due:
                out.append(TimerSpec(TimerKind.SLA_WARNING, f"warn:{occurrence}", warn, sla))
            out.append(TimerSpec(TimerKind.SLA_BREACH, f"breach:{occurrence}", due, sla))
            at = due
            for level in range(1, policy.escalation_levels + 1):
                at = policy.escalate_every.after(calendar, at)
                out.append(
                    TimerSpec(TimerKind.ESCALATION, f"escalate{level}:{occurrence}", at, sla, level)
                )
    out.extend(due_timers(state, policy))
    since = state.status_since.isoformat()
    if state.status is TicketStatus.WAITING_CUSTOMER:
        resolve_at = (
            policy.resolve_after.after(calendar, state.status_since)
            if (policy.resolve_after)
            else None
        )
        if policy.reminder_after:
            remind_at = policy.reminder_after.after(calendar, state.status_since)
            if resolve_at is None or remind_at < resolve_at:
                out.append(TimerSpec(TimerKind.REMINDER, f"remind:{since}", remind_at))
        if resolve_at is not None:
            out.append(TimerSpec(TimerKind.AUTO_RESOLVE, f"resolve:{since}", resolve_at))
    if state.status is TicketStatus.RESOLVED and policy.close_after:
        close_at = policy.close_after.after(calendar, state.status_since)
        out.append(TimerSpec(TimerKind.AUTO_CLOSE, f"close:{since}", close_at))
    return tuple(out)


def due_keys(due_at: datetime) -> tuple[str, str]:
    """The warning's and the breach's keys for one agreed date: a new date is a new
    occurrence (re-armed), the same date set again is the same one (never fired twice)."""
    occurrence = due_at.astimezone(UTC).isoformat()
    return f"due_warn:{occurrence}", f"due:{occurrence}"


def due_timers(state: ClockState, policy: Policy) -> tuple[TimerSpec, ...]:
    """A warning `warn_before` (business time) ahead of the agreed date and a breach at it,
    while the ticket is unresolved: the promise stands even while it waits on someone."""
    if state.due_at is None or state.status not in UNRESOLVED:
        return ()
    warn_key, breach_key = due_keys(state.due_at)
    breach = TimerSpec(TimerKind.DUE_BREACH, breach_key, state.due_at)
    warn = policy.warn_before.before(policy.calendar, state.due_at)
    if not warn < state.due_at:
        return (breach,)
    return (TimerSpec(TimerKind.DUE_WARNING, warn_key, warn), breach)


def resolve_deadline(state: ClockState, policy: Policy) -> datetime | None:
    """When a waiting ticket will be resolved automatically (told in the reminder)."""
    if state.status is TicketStatus.WAITING_CUSTOMER and policy.resolve_after:
        return policy.resolve_after.after(policy.calendar, state.status_since)
    if state.status is TicketStatus.RESOLVED and policy.close_after:
        return policy.close_after.after(policy.calendar, state.status_since)
    return None


class ReplyEffect(StrEnum):
    """What a customer's message does to the status of the ticket it threads into."""

    NONE = "none"
    REOPEN = "reopen"
    APPROVE = "approve"
    SURVEY_ANSWER = "survey_answer"
    NEW_TICKET = "new_ticket"


def customer_reply_effect(
    status: TicketStatus,
    policy: Policy,
    *,
    answers_open_survey: bool,
    verdict: Verdict = Verdict.NONE,
) -> ReplyEffect:
    """Seed 002: a reply while waiting or resolved reopens, but approving a resolved
    ticket's solution closes it at once; after close a reply opens a new linked ticket (or
    reopens, as configured), unless it answers the survey."""
    if status is TicketStatus.RESOLVED and verdict is Verdict.APPROVED:
        return ReplyEffect.APPROVE
    if status is TicketStatus.CLOSED:
        if answers_open_survey:
            return ReplyEffect.SURVEY_ANSWER
        return (
            ReplyEffect.NEW_TICKET
            if policy.reply_to_closed == "new_ticket"
            else (ReplyEffect.REOPEN)
        )
    if status in (
        TicketStatus.WAITING_CUSTOMER,
        TicketStatus.WAITING_THIRD_PARTY,
        TicketStatus.RESOLVED,
    ):
        return ReplyEffect.REOPEN
    return ReplyEffect.NONE


def escalation_chain(directory: Directory, queue: str | None) -> list[str]:
    """Queue ids from the ticket's queue up its `escalates_to` links (no loops)."""
    chain: list[str] = []
    current = directory.queue(queue) if queue else None
    while current is not None and current.id not in chain:
        chain.append(current.id)
        current = directory.queue(current.escalates_to) if current.escalates_to else None
    return chain


def notice_recipients(
    directory: Directory,
    policy: Policy,
    *,
    queue: str | None,
    assignee: str | None,
    level: int,
) -> tuple[str, ...]:
    """Who hears of a warning/breach (level 0: the analyst, else the queue's agents) and of
    each escalation level (the next queue up the chain; past its end, the direction)."""

    chain = escalation_chain(directory, queue)
    if level == 0:
        if assignee:
            return (assignee,)
        return unique(_agents_of(directory, chain[0])) if chain else policy.direction
    if level < len(chain):
        return unique(_agents_of(directory, chain[level]))
    if level == max(len(chain), 1):
        return policy.direction
    return ()


def _agents_of(directory: Directory, queue_id: str) -> list[str]:
    return [a.email for a in directory.agents if queue_id in a.queues]


@dataclass(frozen=True)
class EscalationStep:
    """Where a customer's escalation takes a ticket, and who hears of it."""

    queue: str | None  # the next queue up the chain; None past its end
    notify: tuple[str, ...]  # that queue's agents, or the policy's direction


def customer_escalation_step(
    directory: Directory, policy: Policy, queue: str | None
) -> EscalationStep:
    """One step up the ticket's queue chain (seed 001: attendant → area lead → direction);
    past its end, the direction addresses are told and the queue stays."""
    chain = escalation_chain(directory, queue)
    if len(chain) > 1:
        return EscalationStep(chain[1], unique(_agents_of(directory, chain[1])))
    return EscalationStep(None, policy.direction)


def next_customer_escalation(policy: Policy, last: datetime | None) -> datetime | None:
    """When a customer may next escalate, after one at `last` (None: any time): one step
    per `customer_escalation_window` of business time, so a level has time to act."""
    if last is None:
        return None
    return policy.customer_escalation_window.after(policy.calendar, last)
