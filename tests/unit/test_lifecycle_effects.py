"""The lifecycle's effects on a real database: each timer's effect, the SLA notices'
recipients, the agent's first answer, a reply to a closed ticket, and the threading
of customer mail (never under an internal note)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from email import message_from_bytes
from email.message import Message
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.domain import (
    Agent,
    Direction,
    Directory,
    EventKind,
    MailKind,
    Priority,
    Queue,
    Sla,
    TicketRef,
    TicketStatus,
    TimerKind,
    Triage,
    TriageOutcome,
    Visibility,
)
from gateway.domain.clock import FixedClock
from gateway.domain.policy import Policy
from gateway.domain.signing import ReplyTokens, Signer
from gateway.lifecycle import timers
from gateway.lifecycle.actions import LifecycleActions
from gateway.lifecycle.sla import ReplyEffect
from gateway.lifecycle.surveys import SurveyLinks
from gateway.lifecycle.sweeper import Sweeper
from gateway.lifecycle.ticket_links import TicketLinks
from gateway.mail.labels import Words, brand
from gateway.mail.letters import Mailer
from outbound.compose import Templates
from storage.db import Database
from storage.lifecycle import LifecycleStore
from storage.models import EventRow, OutboxRow
from storage.records import TimerRecord
from storage.repository import NewMessage, TicketRepository

SP = ZoneInfo("America/Sao_Paulo")
SECRET = b"0123456789abcdef-lifecycle-tests"
SUPPORT = "suporte@example.com"
CUSTOMER = "maria@alfa.example"
ANA, BRUNO, DIRECTION = "ana@example.com", "bruno@example.com", "diretoria@example.com"
MONDAY = datetime(2025, 6, 2, 9, tzinfo=SP)
DIRECTORY = Directory(
    queues=(Queue("n1", "N1", "n2"), Queue("n2", "N2")),
    agents=(Agent(ANA, "Ana", ("n1",)), Agent(BRUNO, "Bruno", ("n2",))),
)


@dataclass
class World:
    """One gateway's lifecycle over a fresh database, with a policy a test may change."""

    db: Database
    policy: Policy
    directory: Directory = DIRECTORY
    actions: LifecycleActions = field(init=False)

    def __post_init__(self) -> None:
        templates = Templates(brand=brand("", ""))
        ticket_links = TicketLinks(Signer(SECRET), "https://support.example.com")
        self.actions = LifecycleActions(
            tokens=ReplyTokens(SECRET),
            links=SurveyLinks(SECRET, "https://support.example.com"),
            ticket_links=ticket_links,
            policy=lambda: self.policy,
            directory=lambda: self.directory,
            locale="en",
            support_address=SUPPORT,
            mailer=Mailer(templates, Words("en", SP), ticket_links.status_url),
        )

    def open_ticket(
        self, *, assignee: str | None = None, environment: str = "production"
    ) -> TicketRef:
        """A ticket in queue n1 from the customer's first mail, its clock started."""
        with self.db.transaction() as session:
            tickets = TicketRepository(session)
            ref = tickets.create(
                subject="Boletos",
                requester=CUSTOMER,
                requester_name="Maria",
                organization_id="alfa",
                triage=Triage(
                    category="problem",
                    priority=Priority.HIGH,
                    environment=environment,
                    queue="n1",
                ),
                now=MONDAY,
                first_response_due=None,
                resolution_due=None,
                assignee=assignee,
            )
            add(session, ref, "<c1@alfa.example>", Direction.INBOUND, Visibility.PUBLIC, CUSTOMER)
            self.actions.on_created(session, ref, None, MONDAY)
        return ref

    def status(self, ref: TicketRef, new: TicketStatus, at: datetime = MONDAY) -> None:
        with self.db.transaction() as session:
            self.actions.change_status(session, ref, new, at, actor=ANA, cause="test")

    def fire(
        self, ref: TicketRef, kind: TimerKind, at: datetime, sla: Sla | None = None, level: int = 0,
        key: str | None = None,
    ) -> str:  # fmt: skip
        timer = TimerRecord(
            0, ref, kind.value, key or f"{kind.value}:test", at, sla and sla.value, level, "fired"
        )
        with self.db.transaction() as session:
            return self.actions.fire(session, timer, at)

    def mails(self, ref: TicketRef, kind: MailKind | None = None) -> list[Message]:
        with self.db.transaction() as session:
            query = select(OutboxRow).where(OutboxRow.ticket_id == ref.number)
            if kind is not None:
                query = query.where(OutboxRow.kind == kind.value)
            return [
                message_from_bytes(row.content)
                for row in session.scalars(query.order_by(OutboxRow.id))
            ]

    def events(self, ref: TicketRef, kind: EventKind) -> list[tuple[str, dict[str, Any]]]:
        with self.db.transaction() as session:
            rows = session.scalars(
                select(EventRow)
                .where(EventRow.ticket_id == ref.number, EventRow.kind == kind.value)
                .order_by(EventRow.id)
            )
            return [(row.actor, dict(row.data)) for row in rows]

    def ticket_status(self, ref: TicketRef) -> TicketStatus:
        with self.db.transaction() as session:
            return LifecycleStore(session).clock(ref).status


def add(
    session: Session,
    ref: TicketRef,
    message_id: str,
    direction: Direction,
    visibility: Visibility,
    sender: str,
) -> None:
    TicketRepository(session).add_message(
        ref,
        NewMessage(message_id, direction, visibility, sender, (SUPPORT,), "Boletos", "text"),
        MONDAY,
    )


@pytest.fixture
def world(db_url: str) -> Iterator[World]:
    world = World(Database.open(db_url), replace(Policy.seeds_default(SP), direction=(DIRECTION,)))
    try:
        yield world
    finally:
        world.db.close()


def recipients(mail: Message) -> set[str]:
    return {address.strip() for address in str(mail["To"]).split(",")}


# --- threading -----------------------------------------------------------------------


def test_customer_mail_never_threads_under_an_internal_note(world: World) -> None:
    ref = world.open_ticket()
    with world.db.transaction() as session:
        add(session, ref, "<a1@example.com>", Direction.OUTBOUND, Visibility.PUBLIC, ANA)
        # The newest message of the ticket: an agent's internal note.
        add(session, ref, "<note@agent.example>", Direction.INBOUND, Visibility.INTERNAL, ANA)
    world.status(ref, TicketStatus.WAITING_CUSTOMER)
    world.status(ref, TicketStatus.CLOSED)
    [status, closed, survey] = world.mails(ref)
    assert status["In-Reply-To"] == "<a1@example.com>"  # the newest *public* message
    for mail in (status, closed, survey):
        headers = f"{mail['In-Reply-To']} {mail['References']}"
        assert "note@agent.example" not in headers, mail["Subject"]
        assert "<c1@alfa.example>" in str(mail["References"])
    assert closed["In-Reply-To"] == status["Message-ID"]  # our status mail is public thread


# --- the timer table -------------------------------------------------------------------


def test_every_timer_kind_has_one_effect() -> None:
    assert set(timers.EFFECTS) == set(TimerKind)


def test_reminder_only_while_waiting_for_the_customer(world: World) -> None:
    ref = world.open_ticket()
    assert world.fire(ref, TimerKind.REMINDER, MONDAY) == "stale"  # NEW: nothing to remind
    assert world.mails(ref) == []
    world.status(ref, TicketStatus.WAITING_CUSTOMER)
    later = datetime(2025, 6, 5, 9, tzinfo=SP)
    assert world.fire(ref, TimerKind.REMINDER, later) == "reminder"
    [reminder] = world.mails(ref, MailKind.REMINDER)
    assert recipients(reminder) == {f"Maria <{CUSTOMER}>"}
    assert world.events(ref, EventKind.REMINDER_SENT) == [("scheduler", {"timer": "reminder:test"})]
    assert world.ticket_status(ref) is TicketStatus.WAITING_CUSTOMER


def test_sweeper_fires_a_due_reminder_once(world: World) -> None:
    ref = world.open_ticket()
    world.status(ref, TicketStatus.WAITING_CUSTOMER)
    sweeper = Sweeper(world.db, world.actions, FixedClock(MONDAY))
    assert sweeper.run_once(datetime(2025, 6, 5, 8, 59, tzinfo=SP)).total == 0
    assert dict(sweeper.run_once(datetime(2025, 6, 5, 9, tzinfo=SP)).fired) == {"reminder": 1}
    assert sweeper.run_once(datetime(2025, 6, 5, 9, tzinfo=SP)).total == 0
    assert len(world.mails(ref, MailKind.REMINDER)) == 1


def test_auto_resolve_resolves_a_silent_ticket_and_says_when_it_closes(world: World) -> None:
    ref = world.open_ticket()
    assert world.fire(ref, TimerKind.AUTO_RESOLVE, MONDAY) == "stale"
    world.status(ref, TicketStatus.WAITING_CUSTOMER)
    before = len(world.mails(ref))
    at = datetime(2025, 6, 9, 9, tzinfo=SP)
    assert world.fire(ref, TimerKind.AUTO_RESOLVE, at) == "auto_resolved"
    assert world.ticket_status(ref) is TicketStatus.RESOLVED
    [mail] = world.mails(ref)[before:]  # only the auto_resolved mail, no status mail
    text = mail.get_payload(0).get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert "5 business days" in text and "2025-06-16 09:00" in text
    [(actor, data)] = world.events(ref, EventKind.STATUS_CHANGED)[-1:]
    assert actor == "scheduler"
    assert data == {
        "old": "waiting_customer",
        "new": "resolved",
        "cause": "no answer from the customer in 5d",
    }


def test_auto_close_closes_a_resolved_ticket_and_sends_the_survey(world: World) -> None:
    ref = world.open_ticket(assignee=ANA)
    world.status(ref, TicketStatus.WAITING_CUSTOMER)
    at = datetime(2025, 6, 16, 9, tzinfo=SP)
    assert world.fire(ref, TimerKind.AUTO_CLOSE, at) == "stale"  # not resolved yet
    world.status(ref, TicketStatus.RESOLVED)
    assert world.fire(ref, TimerKind.AUTO_CLOSE, at) == "auto_closed"
    assert world.ticket_status(ref) is TicketStatus.CLOSED
    assert len(world.mails(ref, MailKind.SURVEY)) == 1
    [(actor, data)] = world.events(ref, EventKind.STATUS_CHANGED)[-1:]
    assert (actor, data["cause"]) == ("scheduler", "no answer in 5d after it was resolved")
    [(_, sent)] = world.events(ref, EventKind.SURVEY_SENT)
    with world.db.transaction() as session:
        survey = LifecycleStore(session).latest_survey(ref)
    assert survey is not None and (survey.id, survey.agent) == (sent["survey"], ANA)


# --- SLA notices ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "level", "assignee", "outcome", "told"),
    [
        (TimerKind.SLA_WARNING, 0, ANA, "sla_warning", {ANA}),  # the analyst
        (TimerKind.SLA_BREACH, 0, None, "sla_breached", {ANA}),  # nobody assigned: the queue
        (TimerKind.ESCALATION, 1, ANA, "sla_escalated", {BRUNO}),  # one queue up
        (TimerKind.ESCALATION, 2, ANA, "sla_escalated", {DIRECTION}),  # past the chain's end
    ],
)
def test_an_sla_notice_goes_to_the_levels_recipients(
    world: World, kind: TimerKind, level: int, assignee: str | None, outcome: str, told: set[str]
) -> None:
    ref = world.open_ticket(assignee=assignee)
    at = datetime(2025, 6, 2, 13, tzinfo=SP)
    assert world.fire(ref, kind, at, Sla.FIRST_RESPONSE, level) == outcome
    [notice] = world.mails(ref, MailKind.SLA_NOTICE)
    assert recipients(notice) == told
    [(actor, data)] = world.events(ref, EventKind(outcome))
    assert actor == "scheduler"
    assert (data["sla"], data["level"], set(data["notified"])) == ("first_response", level, told)
    # A high-priority first answer is due 4 business hours after Monday 09:00.
    assert datetime.fromisoformat(str(data["due"])) == datetime(2025, 6, 2, 13, tzinfo=SP)


def test_an_sla_notice_is_stale_once_the_target_is_met(world: World) -> None:
    ref = world.open_ticket(assignee=ANA)
    with world.db.transaction() as session:
        world.actions.agent_responded(session, ref, MONDAY, ANA)
    at = datetime(2025, 6, 2, 13, tzinfo=SP)
    assert world.fire(ref, TimerKind.SLA_BREACH, at, Sla.FIRST_RESPONSE) == "stale"
    assert world.mails(ref, MailKind.SLA_NOTICE) == []


def test_an_agreed_date_warns_then_breaches_until_it_moves_or_the_ticket_resolves(
    world: World,
) -> None:
    ref = world.open_ticket()  # no assignee: the queue's agents hear
    due = datetime(2025, 6, 5, 17, tzinfo=SP)
    with world.db.transaction() as session:
        TicketRepository(session).change_fields(ref, {"due_at": due}, MONDAY)
        world.actions.recompute(session, ref, MONDAY)
    with world.db.transaction() as session:
        armed = {t.kind: t for t in LifecycleStore(session).timers(ref) if t.state == "pending"}
    warn, breach = armed[TimerKind.DUE_WARNING.value], armed[TimerKind.DUE_BREACH.value]
    assert (warn.due, breach.due) == (datetime(2025, 6, 5, 16, tzinfo=SP), due)

    assert world.fire(ref, TimerKind.DUE_WARNING, warn.due, key=warn.key) == "due_warning"
    assert world.fire(ref, TimerKind.DUE_BREACH, due, key=breach.key) == "due_breached"
    warning, breached = world.mails(ref, MailKind.SLA_NOTICE)
    assert recipients(warning) == recipients(breached) == {ANA}
    assert "agreed resolution" in str(warning["Subject"]) and "2025-06-05 17:00" in str(
        warning["Subject"]
    )
    [(actor, data)] = world.events(ref, EventKind.DUE_BREACHED)
    assert (actor, data["notified"], data["level"]) == ("scheduler", [ANA], 0)
    assert datetime.fromisoformat(str(data["due"])) == due

    # A timer of an earlier date is stale once the date moved, and all are once resolved.
    with world.db.transaction() as session:
        TicketRepository(session).change_fields(ref, {"due_at": due + timedelta(days=1)}, MONDAY)
    assert world.fire(ref, TimerKind.DUE_BREACH, due, key=breach.key) == "stale"
    world.status(ref, TicketStatus.RESOLVED)
    with world.db.transaction() as session:
        pending = [t.kind for t in LifecycleStore(session).timers(ref) if t.state == "pending"]
    assert TimerKind.DUE_BREACH.value not in pending
    assert len(world.mails(ref, MailKind.SLA_NOTICE)) == 2


# --- intake's hooks ------------------------------------------------------------------


def test_the_first_agent_answer_is_recorded_and_opens_a_new_ticket(world: World) -> None:
    ref = world.open_ticket()
    for _ in range(2):  # the second answer records nothing new
        with world.db.transaction() as session:
            world.actions.agent_responded(session, ref, MONDAY, ANA)
    assert world.events(ref, EventKind.FIRST_RESPONSE) == [(ANA, {})]
    assert world.events(ref, EventKind.STATUS_CHANGED) == [
        (ANA, {"old": "new", "new": "open", "cause": "first agent answer"})
    ]
    assert world.ticket_status(ref) is TicketStatus.OPEN
    assert world.mails(ref) == []  # the answer itself told the customer


def test_a_reply_to_a_closed_ticket_asks_for_a_linked_follow_up(world: World) -> None:
    ref = world.open_ticket(assignee=ANA, environment="staging")
    with world.db.transaction() as session:
        assert world.actions.follow_up_triage(session, ref, "It broke again") is None  # open
    world.status(ref, TicketStatus.CLOSED)
    with world.db.transaction() as session:
        outcome = world.actions.follow_up_triage(session, ref, "It broke again today")
        answers_survey = world.actions.follow_up_triage(session, ref, "1: 5, 2: yes")
    assert outcome == TriageOutcome(
        triage=Triage(
            category="problem", priority=Priority.HIGH, environment="staging", queue="n1"
        ),
        assignee=ANA,
    )
    assert answers_survey is None  # the reply answers the open survey
    world.policy = replace(world.policy, reply_to_closed="reopen")
    with world.db.transaction() as session:
        assert world.actions.follow_up_triage(session, ref, "It broke again today") is None


def test_a_survey_answer_by_reply_is_recorded(world: World) -> None:
    ref = world.open_ticket(assignee=ANA)
    world.status(ref, TicketStatus.CLOSED)
    with world.db.transaction() as session:
        effect = world.actions.customer_replied(session, ref, "1: 4, 2: yes", CUSTOMER, MONDAY)
    assert effect is ReplyEffect.SURVEY_ANSWER
    [(actor, data)] = world.events(ref, EventKind.SURVEY_ANSWERED)
    assert (actor, data["rating"], data["met_expectation"]) == (CUSTOMER, 4, True)
    assert world.ticket_status(ref) is TicketStatus.CLOSED


def test_an_agents_sla_notice_carries_the_addresses_signed_for_that_agent(world: World) -> None:
    ref = world.open_ticket(assignee=ANA)
    at = datetime(2025, 6, 2, 13, tzinfo=SP)
    world.fire(ref, TimerKind.SLA_BREACH, at, Sla.FIRST_RESPONSE, 0)
    world.fire(ref, TimerKind.ESCALATION, at, Sla.FIRST_RESPONSE, 2)
    to_ana, to_direction = world.mails(ref, MailKind.SLA_NOTICE)
    reply_to = str(to_ana["Reply-To"])
    assert reply_to.endswith(".agent@example.com") and reply_to.startswith("suporte+")
    plain = next(p for p in to_ana.walk() if p.get_content_type() == "text/plain")
    assert reply_to in plain.get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert to_direction["Reply-To"] is None  # the direction acts through the agents
