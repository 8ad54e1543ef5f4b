"""What a customer asks of a ticket, carried out by the lifecycle on a real database:
approving a resolved ticket's solution or saying it is not solved (by reply or link),
and asking for escalation one level at a time, at most once per window."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from email.message import Message

import pytest

from gateway.domain import Agent, Directory, EventKind, MailKind, Queue, TicketRef
from gateway.domain import TicketStatus as S
from gateway.domain.customer_intent import Verdict
from gateway.domain.policy import Policy
from gateway.lifecycle.escalation import EscalationOutcome, EscalationResult
from gateway.lifecycle.sla import ReplyEffect
from gateway.lifecycle.ticket_links import LinkPurpose
from storage.db import Database
from storage.lifecycle import LifecycleStore
from storage.repository import TicketRepository
from tests.unit.test_lifecycle_effects import (
    ANA,
    BRUNO,
    CUSTOMER,
    DIRECTION,
    MONDAY,
    SP,
    World,
    recipients,
)

TUESDAY, WEDNESDAY = MONDAY.replace(day=3), MONDAY.replace(day=4)
CARLA = "carla@example.com"
CHAIN = Directory(
    queues=(Queue("n1", "N1", "n2"), Queue("n2", "N2", "n3"), Queue("n3", "N3")),
    agents=(
        Agent(ANA, "Ana", ("n1",)),
        Agent(BRUNO, "Bruno", ("n2",)),
        Agent(CARLA, "Carla", ("n3",)),
    ),
)


@pytest.fixture
def world(db_url: str) -> Iterator[World]:
    world = World(Database.open(db_url), replace(Policy.seeds_default(SP), direction=(DIRECTION,)))
    try:
        yield world
    finally:
        world.db.close()


def text(mail: Message) -> str:
    part = mail.get_payload(0) if mail.is_multipart() else mail
    assert isinstance(part, Message)
    return bytes(part.get_payload(decode=True)).decode()  # type: ignore[arg-type]


def reply(world: World, ref: TicketRef, words: str, at: datetime = MONDAY) -> ReplyEffect:
    with world.db.transaction() as session:
        return world.actions.customer_replied(session, ref, words, CUSTOMER, at)


def click(world: World, ref: TicketRef, verdict: Verdict, at: datetime = MONDAY) -> bool:
    with world.db.transaction() as session:
        return world.actions.answer_resolution(
            session, ref, verdict, at, channel="link", actor=CUSTOMER
        )


def escalate(
    world: World, ref: TicketRef, at: datetime, channel: str = "mail"
) -> EscalationOutcome:
    with world.db.transaction() as session:
        return world.actions.customer_escalation(
            session, ref, at, actor=CUSTOMER, author="Maria", channel=channel, text="Quero escalar"
        )


def queue_of(world: World, ref: TicketRef) -> tuple[str | None, str | None]:
    with world.db.transaction() as session:
        ticket = TicketRepository(session).get(ref)
        assert ticket is not None
        return ticket.queue, ticket.assignee


# --- approving the solution ----------------------------------------------------------------


def test_the_resolved_mail_says_how_to_approve_or_refuse_and_links_to_both(world: World) -> None:
    ref = world.open_ticket()
    world.status(ref, S.RESOLVED)
    [mail] = world.mails(ref, MailKind.STATUS)
    body = text(mail)
    assert 'reply "Approved"' in body and "what still happens" in body
    links = world.actions.parts.ticket_links
    approve = links.url(LinkPurpose.RESOLUTION, ref, CUSTOMER, MONDAY, "approved")
    not_solved = links.url(LinkPurpose.RESOLUTION, ref, CUSTOMER, MONDAY, "not_solved")
    assert approve in body and not_solved in body
    assert links.url(LinkPurpose.ESCALATION, ref, CUSTOMER, MONDAY) in body
    assert '"please escalate"' in body
    assert links.status_url(ref, CUSTOMER, MONDAY) in body  # every customer mail has it


def test_an_approving_reply_closes_at_once_with_the_close_mail_and_survey(world: World) -> None:
    ref = world.open_ticket(assignee=ANA)
    world.status(ref, S.RESOLVED)
    assert reply(world, ref, "Approved, you can close it. Thanks!") is ReplyEffect.APPROVE
    assert world.ticket_status(ref) is S.CLOSED
    [(_, answered)] = world.events(ref, EventKind.RESOLUTION_ANSWERED)
    assert answered == {"verdict": "approved", "channel": "reply"}
    [(actor, changed)] = world.events(ref, EventKind.STATUS_CHANGED)[-1:]
    assert (actor, changed["new"], changed["cause"]) == (
        CUSTOMER,
        "closed",
        "approved by the customer",
    )
    closed, survey = world.mails(ref)[-2:]
    assert "you approved the solution" in text(closed) and survey["Subject"]
    assert len(world.mails(ref, MailKind.SURVEY)) == 1


def test_a_not_solved_reply_reopens_and_waits_for_our_answer(world: World) -> None:
    ref = world.open_ticket()
    with world.db.transaction() as session:
        world.actions.agent_responded(session, ref, MONDAY, ANA)
    world.status(ref, S.RESOLVED)
    assert reply(world, ref, "Ainda não funciona.", TUESDAY) is ReplyEffect.REOPEN
    assert world.ticket_status(ref) is S.OPEN
    [(_, answered)] = world.events(ref, EventKind.RESOLUTION_ANSWERED)
    assert answered["verdict"] == "not_solved"
    with world.db.transaction() as session:
        assert LifecycleStore(session).clock(ref).awaiting_since == TUESDAY  # next response
    assert "you told us the problem is not solved" in text(world.mails(ref, MailKind.STATUS)[-1])


def test_any_other_reply_reopens_as_before_and_approval_words_elsewhere_do_nothing(
    world: World,
) -> None:
    ref = world.open_ticket()
    world.status(ref, S.RESOLVED)
    assert reply(world, ref, "Fixed, but the export is slow now.") is ReplyEffect.REOPEN
    assert world.ticket_status(ref) is S.OPEN
    assert world.events(ref, EventKind.RESOLUTION_ANSWERED) == []
    assert reply(world, ref, "Approved") is ReplyEffect.NONE  # open: nothing to approve
    assert world.ticket_status(ref) is S.OPEN


def test_a_link_answer_records_once(world: World) -> None:
    ref = world.open_ticket()
    assert not click(world, ref, Verdict.APPROVED)  # not resolved: nothing to approve
    world.status(ref, S.RESOLVED)
    assert click(world, ref, Verdict.APPROVED)
    assert not click(world, ref, Verdict.APPROVED)  # a second click, or an old mail
    assert not click(world, ref, Verdict.NOT_SOLVED)
    assert world.ticket_status(ref) is S.CLOSED
    assert len(world.events(ref, EventKind.RESOLUTION_ANSWERED)) == 1
    assert len(world.mails(ref, MailKind.SURVEY)) == 1


# --- escalation ---------------------------------------------------------------------------


def test_each_request_goes_one_level_up_with_that_level_told(world: World) -> None:
    world.directory = CHAIN
    ref = world.open_ticket(assignee=ANA)
    outcome = escalate(world, ref, MONDAY)
    assert (outcome.result, outcome.level) == (EscalationResult.ESCALATED, "N2")
    assert queue_of(world, ref) == ("n2", None)  # unassigned: the level picks it up
    [told] = world.mails(ref, MailKind.AGENT_NOTIFICATION)
    assert (
        recipients(told) == {f"Bruno <{BRUNO}>"} and "Escalated by the customer" in told["Subject"]
    )
    assert "Quero escalar" in text(told)
    assert escalate(world, ref, TUESDAY).level == "N3"
    assert [recipients(m) for m in world.mails(ref, MailKind.AGENT_NOTIFICATION)][-1] == {
        f"Carla <{CARLA}>"
    }
    outcome = escalate(world, ref, WEDNESDAY, channel="link")
    assert (outcome.result, outcome.level) == (EscalationResult.DIRECTION, "the management")
    [notice] = world.mails(ref, MailKind.ESCALATION_NOTICE)
    assert recipients(notice) == {DIRECTION} and queue_of(world, ref) == ("n3", None)
    events = [data for _, data in world.events(ref, EventKind.CUSTOMER_ESCALATED)]
    assert [(e["from_queue"], e["to_queue"], e["channel"]) for e in events] == [
        ("n1", "n2", "mail"), ("n2", "n3", "mail"), ("n3", None, "link"),
    ]  # fmt: skip
    answers = [m["Subject"] for m in world.mails(ref, MailKind.STATUS)]
    assert sum("escalation recorded" in s for s in answers) == 3


def test_a_second_request_within_the_window_is_recorded_and_answered_but_changes_nothing(
    world: World,
) -> None:
    ref = world.open_ticket()
    escalate(world, ref, MONDAY)
    told = len(world.mails(ref, MailKind.AGENT_NOTIFICATION))
    outcome = escalate(world, ref, MONDAY.replace(hour=17))
    assert outcome.result is EscalationResult.TOO_SOON
    assert outcome.next_allowed == TUESDAY  # one business day after the first
    assert queue_of(world, ref) == ("n2", None)
    assert len(world.mails(ref, MailKind.AGENT_NOTIFICATION)) == told
    [(_, refused)] = world.events(ref, EventKind.CUSTOMER_ESCALATION_REFUSED)
    assert refused["next_allowed"] == TUESDAY.isoformat()
    polite = world.mails(ref, MailKind.STATUS)[-1]
    assert "already requested" in polite["Subject"] and "2025-06-03 09:00" in text(polite)
    # n2 is the end of this chain: a day later the direction hears.
    assert escalate(world, ref, TUESDAY).result is EscalationResult.DIRECTION


def test_escalating_a_resolved_ticket_reopens_it_and_a_closed_one_goes_nowhere(
    world: World,
) -> None:
    ref = world.open_ticket()
    world.status(ref, S.RESOLVED)
    before = len(world.mails(ref, MailKind.STATUS))
    assert escalate(world, ref, MONDAY, channel="link").result is EscalationResult.ESCALATED
    assert world.ticket_status(ref) is S.OPEN
    [answer] = world.mails(ref, MailKind.STATUS)[before:]  # one mail says it all
    assert "escalation recorded" in answer["Subject"]
    world.status(ref, S.CLOSED)
    assert escalate(world, ref, WEDNESDAY).result is EscalationResult.CLOSED
    assert len(world.events(ref, EventKind.CUSTOMER_ESCALATED)) == 1
