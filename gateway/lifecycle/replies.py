"""What a customer's reply does to its ticket: answer the survey, approve the solution
(close), reopen, restart the next-response clock, or (after the close) ask for a new
linked ticket.

Intake asks `follow_up_triage` before it decides where a reply goes, and calls
`customer_replied` once the reply is threaded; the survey page
(gateway/runtime/survey_page.py) records a press of its button through
`record_survey_answer`, the approval page (gateway/runtime/status_pages.py) through
`answer_resolution`. The clock itself moves
through gateway/lifecycle/clock.py.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from gateway.domain import EventKind, TicketRecord, TicketRef, TicketStatus, Triage, TriageOutcome
from gateway.domain.customer_intent import Verdict, read_verdict
from gateway.domain.policy import Policy
from gateway.lifecycle import clock
from gateway.lifecycle import sla as lifecycle
from gateway.lifecycle.sla import ReplyEffect
from gateway.lifecycle.step import Step
from gateway.lifecycle.surveys import SurveyAnswer, parse_reply
from storage.lifecycle import LifecycleStore
from storage.repository import TicketRepository

# Causes of the status changes a customer makes; Words.cause (gateway/mail/labels.py)
# words them for the mail.
REOPEN_CAUSE = "customer replied"
APPROVED_CAUSE = "approved by the customer"
NOT_SOLVED_CAUSE = "not solved, says the customer"


def follow_up_triage(
    session: Session, policy: Policy, ref: TicketRef, text: str
) -> TriageOutcome | None:
    """The triage of the new ticket a reply to closed `ref` opens, linked to it: the old
    ticket's category, priority, environment, queue and assignee. None when the ticket
    is not closed, the reply answers its open survey, or the policy says reopen.
    Reads only."""
    store = LifecycleStore(session)
    fields = store.clock(ref)
    if fields.status is not TicketStatus.CLOSED:
        return None
    effect = lifecycle.customer_reply_effect(
        fields.status,
        policy,
        answers_open_survey=_survey_answer(store, fields, text) is not None,
    )
    if effect is not ReplyEffect.NEW_TICKET:
        return None
    ticket = TicketRepository(session).get(ref)
    if ticket is None:
        raise LookupError(f"no ticket {ref}")
    triage = Triage(
        category=fields.category,
        priority=fields.priority,
        environment=ticket.environment,
        queue=fields.queue,
    )
    return TriageOutcome(triage=triage, assignee=fields.assignee)


def customer_replied(step: Step, ref: TicketRef, text: str, sender: str) -> ReplyEffect:
    """A customer's message threaded into `ref`: answer the survey, approve a resolved
    ticket's solution, reopen, or restart the next-response clock."""
    fields = step.store.clock(ref)
    answer = _survey_answer(step.store, fields, text)
    verdict = read_verdict(text) if fields.status is TicketStatus.RESOLVED else Verdict.NONE
    effect = lifecycle.customer_reply_effect(
        fields.status, step.policy, answers_open_survey=answer is not None, verdict=verdict
    )
    state = clock.state_of(fields)
    if effect is ReplyEffect.SURVEY_ANSWER:
        assert answer is not None
        survey = step.store.latest_survey(ref)
        assert survey is not None
        record_survey_answer(step, survey.id, ref, answer, "reply", sender)
    elif effect is ReplyEffect.APPROVE or verdict is Verdict.NOT_SOLVED:
        answer_resolution(step, ref, verdict, channel="reply", actor=sender)
    elif effect is ReplyEffect.REOPEN:
        reopened = lifecycle.transition(state, TicketStatus.OPEN, step.now, step.policy)
        clock.settle(
            step,
            fields,
            lifecycle.customer_wrote(reopened, step.now),
            actor=sender,
            cause=REOPEN_CAUSE,
            # Back from waiting is news only after a resolve or close.
            notify=fields.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED),
        )
    else:
        clock.save(step, ref, lifecycle.customer_wrote(state, step.now))
    return effect


def answer_resolution(
    step: Step, ref: TicketRef, verdict: Verdict, *, channel: str, actor: str
) -> bool:
    """The customer's answer to a resolved ticket, by reply (`channel` "reply") or on the
    approval page ("link"): approved closes it at once (seed 002; the close mail and the
    survey follow as for any close), not solved reopens it and starts the next-response
    clock. False, changing nothing, when the ticket no longer waits for that answer (a
    second click, an old mail)."""
    fields = step.store.clock(ref, lock=True)
    if fields.status is not TicketStatus.RESOLVED or verdict is Verdict.NONE:
        return False
    step.tickets.record_event(
        ref, EventKind.RESOLUTION_ANSWERED, actor, step.now, verdict=verdict.value,
        channel=channel,
    )  # fmt: skip
    state = clock.state_of(fields)
    if verdict is Verdict.APPROVED:
        closed = lifecycle.transition(state, TicketStatus.CLOSED, step.now, step.policy)
        clock.settle(step, fields, closed, actor=actor, cause=APPROVED_CAUSE, notify=True)
        return True
    reopened = lifecycle.transition(state, TicketStatus.OPEN, step.now, step.policy)
    clock.settle(
        step, fields, lifecycle.customer_wrote(reopened, step.now), actor=actor,
        cause=NOT_SOLVED_CAUSE, notify=True,
    )  # fmt: skip
    return True


def record_survey_answer(
    step: Step,
    survey_id: int,
    ref: TicketRef,
    answer: SurveyAnswer,
    channel: str,
    actor: str,
) -> None:
    """Store what a reply (`channel` "reply") or a link click ("link") answered."""
    step.store.answer_survey(
        survey_id,
        rating=answer.rating,
        met_expectation=answer.met_expectation,
        comment=answer.comment,
        channel=channel,
        now=step.now,
    )
    step.tickets.record_event(
        ref,
        EventKind.SURVEY_ANSWERED,
        actor,
        step.now,
        channel=channel,
        rating=answer.rating,
        met_expectation=answer.met_expectation,
        comment=answer.comment,
    )


def _survey_answer(store: LifecycleStore, fields: TicketRecord, text: str) -> SurveyAnswer | None:
    """The answers in a reply to a closed ticket whose survey is still unanswered."""
    if fields.status is not TicketStatus.CLOSED:
        return None
    survey = store.latest_survey(fields.ref)
    if survey is None or survey.answered_at is not None:
        return None
    answer = parse_reply(text)
    return None if answer.empty else answer
