"""The pure lifecycle: SLA clock, pause/resume, timers, escalation chain, survey parsing."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gateway.domain import (
    Agent,
    Directory,
    Priority,
    Queue,
    Sla,
    TicketRef,
    TicketStatus,
    TimerKind,
)
from gateway.domain.customer_intent import Verdict
from gateway.domain.policy import Duration, Policy, Targets, TimeBasis
from gateway.domain.signing import Signer
from gateway.lifecycle import sla as lifecycle
from gateway.lifecycle.sla import ReplyEffect
from gateway.lifecycle.surveys import SurveyAnswer, SurveyLinks, parse_reply, summarize
from gateway.lifecycle.ticket_links import LinkClaim, LinkPurpose, TicketLinks
from gateway.mail.contexts import AboutTicket, TicketLine

SP = ZoneInfo("America/Sao_Paulo")
POLICY = replace(Policy.seeds_default(SP), direction=("diretoria@example.com",))


def sp(*args: int) -> datetime:
    return datetime(*args, tzinfo=SP)  # type: ignore[misc]


def opened(at: datetime, priority: Priority = Priority.NORMAL) -> lifecycle.ClockState:
    return lifecycle.new_ticket_state(at, priority, "question", "alfa")


def kinds(state: lifecycle.ClockState) -> dict[str, datetime]:
    """Due times by kind (and SLA): "breach first_response", "remind" ..."""
    return {
        f"{t.key.split(':')[0]}{' ' + t.sla.value if t.sla else ''}": t.due
        for t in lifecycle.desired_timers(state, POLICY)
    }


def test_new_ticket_due_times_follow_the_seeds() -> None:
    state = opened(sp(2025, 6, 2, 9))  # Monday 09:00
    dues = lifecycle.compute_dues(state, POLICY)
    assert dues.first_response == sp(2025, 6, 3, 11)  # 12 business hours: 9 Monday + 3
    assert dues.resolution == sp(2025, 6, 5, 9)  # 3 business days
    assert dues.next_response is None
    timers = kinds(state)
    assert timers["warn first_response"] == sp(2025, 6, 3, 10)  # an hour of business time before
    assert timers["breach first_response"] == sp(2025, 6, 3, 11)
    assert timers["escalate1 first_response"] == sp(2025, 6, 3, 15)
    assert timers["breach resolution"] == sp(2025, 6, 5, 9)


def test_pause_while_waiting_and_resume_shifts_the_due_times() -> None:
    state = opened(sp(2025, 6, 2, 9))
    waiting = lifecycle.transition(state, TicketStatus.WAITING_CUSTOMER, sp(2025, 6, 2, 15), POLICY)
    assert waiting.paused_at == sp(2025, 6, 2, 15)
    assert {t.kind for t in lifecycle.desired_timers(waiting, POLICY)} == {
        TimerKind.REMINDER,
        TimerKind.AUTO_RESOLVE,
    }
    # The customer answers the next day at 10:00: 3 + 2 business hours were spent waiting.
    back = lifecycle.transition(waiting, TicketStatus.OPEN, sp(2025, 6, 3, 10), POLICY)
    assert back.paused_at is None and back.paused_total == timedelta(hours=5)
    assert lifecycle.compute_dues(back, POLICY).first_response == sp(2025, 6, 3, 16)


def test_priority_change_recomputes() -> None:
    state = opened(sp(2025, 6, 2, 9))
    critical = replace(state, priority=Priority.CRITICAL)
    assert lifecycle.compute_dues(critical, POLICY).first_response == sp(2025, 6, 2, 10)


def test_first_and_next_response() -> None:
    state = lifecycle.agent_responded(opened(sp(2025, 6, 2, 9)), sp(2025, 6, 2, 10))
    assert "breach" not in {k for k in kinds(state) if "first_response" in k}
    keys = {t.key for t in lifecycle.desired_timers(state, POLICY)}
    assert not any("first_response" in k for k in keys)
    state = lifecycle.customer_wrote(state, sp(2025, 6, 2, 16))
    assert lifecycle.compute_dues(state, POLICY).next_response == sp(2025, 6, 3, 18)
    assert any(k.startswith("breach:next_response") for k in
               (t.key for t in lifecycle.desired_timers(state, POLICY)))  # fmt: skip


def test_waiting_customer_timers_seed_002() -> None:
    state = opened(sp(2025, 6, 2, 9))
    waiting = lifecycle.transition(state, TicketStatus.WAITING_CUSTOMER, sp(2025, 6, 4, 11), POLICY)
    timers = kinds(waiting)
    assert timers["remind"] == sp(2025, 6, 9, 11)  # 3 business days
    assert timers["resolve"] == sp(2025, 6, 11, 11)  # 5 business days
    resolved = lifecycle.transition(waiting, TicketStatus.RESOLVED, sp(2025, 6, 11, 11), POLICY)
    assert kinds(resolved) == {"close": sp(2025, 6, 18, 11)}  # 5 more
    closed = lifecycle.transition(resolved, TicketStatus.CLOSED, sp(2025, 6, 18, 11), POLICY)
    assert lifecycle.desired_timers(closed, POLICY) == ()


def test_timer_keys_name_the_occurrence_so_a_due_change_keeps_the_key() -> None:
    state = opened(sp(2025, 6, 2, 9))
    before = {t.key for t in lifecycle.desired_timers(state, POLICY)}
    after = {t.key for t in lifecycle.desired_timers(replace(state, priority=1), POLICY)}
    assert before == after


def due_specs(
    state: lifecycle.ClockState, policy: Policy = POLICY
) -> list[tuple[str, str, datetime]]:
    """The agreed date's timers: (kind, key, due)."""
    return [
        (t.kind.value, t.key, t.due)
        for t in lifecycle.desired_timers(state, policy)
        if t.kind in (TimerKind.DUE_WARNING, TimerKind.DUE_BREACH)
    ]


def test_an_agreed_date_arms_a_warning_before_it_and_a_breach_at_it() -> None:
    state = replace(opened(sp(2026, 12, 7, 9)), due_at=sp(2026, 12, 10, 17))
    assert due_specs(state) == [
        ("due_warning", "due_warn:2026-12-10T20:00:00+00:00", sp(2026, 12, 10, 16)),
        ("due_breach", "due:2026-12-10T20:00:00+00:00", sp(2026, 12, 10, 17)),
    ]
    # warn_before is business time: a date at Friday 08:30 warns Thursday 17:30.
    early = replace(state, due_at=sp(2026, 12, 11, 8, 30))
    assert due_specs(early)[0][2] == sp(2026, 12, 10, 17, 30)
    assert due_specs(replace(state, due_at=None)) == []
    # No warning when the policy warns of nothing.
    quiet = replace(POLICY, warn_before=Duration())
    assert [kind for kind, _, _ in due_specs(state, quiet)] == ["due_breach"]


def test_a_new_agreed_date_is_a_new_occurrence_and_resolving_drops_it() -> None:
    state = replace(opened(sp(2026, 12, 7, 9)), due_at=sp(2026, 12, 10, 17))
    moved = replace(state, due_at=sp(2026, 12, 11, 17))
    assert {key for _, key, _ in due_specs(state)}.isdisjoint(key for _, key, _ in due_specs(moved))
    # The same instant written in another zone is the same occurrence.
    same = replace(state, due_at=datetime(2026, 12, 10, 20, tzinfo=ZoneInfo("UTC")))
    assert due_specs(same) == due_specs(state)
    # The promise stands while the ticket waits on the customer (the SLA clock pauses) ...
    waiting = lifecycle.transition(state, TicketStatus.WAITING_CUSTOMER, sp(2026, 12, 8, 9), POLICY)
    assert due_specs(waiting) == due_specs(state)
    # ... and ends when the ticket is resolved.
    resolved = lifecycle.transition(state, TicketStatus.RESOLVED, sp(2026, 12, 8, 9), POLICY)
    assert due_specs(resolved) == []


@pytest.mark.parametrize(
    ("status", "survey", "policy_choice", "effect", "verdict"),
    [
        (TicketStatus.WAITING_CUSTOMER, False, "new_ticket", ReplyEffect.REOPEN, Verdict.NONE),
        (TicketStatus.RESOLVED, False, "new_ticket", ReplyEffect.REOPEN, Verdict.NONE),
        (TicketStatus.RESOLVED, False, "new_ticket", ReplyEffect.REOPEN, Verdict.NOT_SOLVED),
        (TicketStatus.RESOLVED, False, "new_ticket", ReplyEffect.APPROVE, Verdict.APPROVED),
        # Seed 002 approves a solution: only a resolved ticket has one to approve.
        (TicketStatus.WAITING_CUSTOMER, False, "new_ticket", ReplyEffect.REOPEN, Verdict.APPROVED),
        (TicketStatus.CLOSED, False, "new_ticket", ReplyEffect.NEW_TICKET, Verdict.NONE),
        (TicketStatus.CLOSED, False, "reopen", ReplyEffect.REOPEN, Verdict.NONE),
        (TicketStatus.CLOSED, True, "new_ticket", ReplyEffect.SURVEY_ANSWER, Verdict.NONE),
        (TicketStatus.OPEN, False, "new_ticket", ReplyEffect.NONE, Verdict.APPROVED),
    ],
)
def test_customer_reply_effect(
    status: TicketStatus, survey: bool, policy_choice: str, effect: ReplyEffect, verdict: Verdict
) -> None:
    policy = replace(POLICY, reply_to_closed=policy_choice)
    got = lifecycle.customer_reply_effect(
        status, policy, answers_open_survey=survey, verdict=verdict
    )
    assert got is effect


DIRECTORY = Directory(
    queues=(Queue("n1", "N1", "n2"), Queue("n2", "N2", "lead"), Queue("lead", "Leads")),
    agents=(
        Agent("ana@example.com", "Ana", ("n1",)),
        Agent("bruno@example.com", "Bruno", ("n2",)),
        Agent("ricardo@example.com", "Ricardo", ("lead",)),
    ),
)


def test_escalation_chain_analyst_queue_lead_direction() -> None:
    def who(level: int, assignee: str | None = "ana@example.com") -> tuple[str, ...]:
        return lifecycle.notice_recipients(
            DIRECTORY, POLICY, queue="n1", assignee=assignee, level=level
        )

    assert who(0) == ("ana@example.com",)
    assert who(0, assignee=None) == ("ana@example.com",)  # the queue's agents
    assert who(1) == ("bruno@example.com",)
    assert who(2) == ("ricardo@example.com",)
    assert who(3) == ("diretoria@example.com",)
    assert who(4) == ()


def test_a_customer_escalation_goes_one_queue_up_then_to_the_direction() -> None:
    def step(queue: str | None) -> lifecycle.EscalationStep:
        return lifecycle.customer_escalation_step(DIRECTORY, POLICY, queue)

    assert step("n1") == lifecycle.EscalationStep("n2", ("bruno@example.com",))
    assert step("n2") == lifecycle.EscalationStep("lead", ("ricardo@example.com",))
    assert step("lead") == lifecycle.EscalationStep(None, ("diretoria@example.com",))
    assert step(None) == lifecycle.EscalationStep(None, ("diretoria@example.com",))


def test_a_customer_may_escalate_again_one_business_day_later() -> None:
    assert lifecycle.next_customer_escalation(POLICY, None) is None
    friday = sp(2025, 6, 6, 16)
    assert lifecycle.next_customer_escalation(POLICY, friday) == sp(2025, 6, 9, 16)  # Monday
    hourly = replace(POLICY, customer_escalation_window=Duration(time=timedelta(hours=4)))
    assert lifecycle.next_customer_escalation(hourly, friday) == sp(2025, 6, 9, 10)


def test_ticket_links_name_one_ticket_for_one_purpose_and_person_until_they_expire() -> None:
    links = TicketLinks(Signer(b"0123456789abcdef-secret"), "https://support.example.com/", 30)
    now, maria, ref = sp(2025, 6, 2, 9), "maria@alfa.edu.br", TicketRef(42)
    url = links.url(LinkPurpose.RESOLUTION, ref, maria, now)
    approve = url.rsplit("/", 1)[1]
    claim = LinkClaim.parse(approve)
    assert claim is not None and claim.id == 42
    assert links.verify(LinkPurpose.RESOLUTION, claim, ref, maria, now)
    assert links.verify(LinkPurpose.RESOLUTION, claim, ref, "Maria@Alfa.edu.br", now)
    assert not links.verify(LinkPurpose.ESCALATION, claim, ref, maria, now)  # another purpose
    assert not links.verify(LinkPurpose.RESOLUTION, claim, TicketRef(43), maria, now)
    assert not links.verify(LinkPurpose.RESOLUTION, claim, ref, "joao@alfa.edu.br", now)
    assert links.verify(LinkPurpose.RESOLUTION, claim, ref, maria, now + timedelta(days=29))
    assert not links.verify(LinkPurpose.RESOLUTION, claim, ref, maria, now + timedelta(days=31))
    moved = LinkClaim.parse(approve.replace("42.", "43.", 1))
    assert moved is not None
    assert not links.verify(LinkPurpose.RESOLUTION, moved, TicketRef(43), maria, now)
    longer = LinkClaim.parse(f"42.{claim.expires + 100}.{claim.signature}")
    assert longer is not None  # a later expiry day breaks the signature
    assert not links.verify(LinkPurpose.RESOLUTION, longer, ref, maria, now)
    assert LinkClaim.parse("42") is None and LinkClaim.parse("x.y.z") is None
    other = TicketLinks(Signer(b"another-secret-0123456789"), "https://x")
    assert not other.verify(LinkPurpose.RESOLUTION, claim, ref, maria, now)
    assert links.codec.csrf_ok(approve, links.codec.csrf(approve))
    assert not links.codec.csrf_ok(approve, links.codec.csrf(approve.replace("42.", "43.")))
    actions = links.actions(ref, "en", ("quero escalar", "please escalate"), maria, now)
    assert actions.approve_url == f"https://support.example.com/resolution/{approve}?answer=approved"
    assert actions.not_solved_url.endswith("?answer=not_solved")
    assert actions.escalate_url.startswith("https://support.example.com/escalation/42.")
    assert actions.escalate_phrase == "please escalate"  # the locale's, when configured
    assert links.actions(ref, "en", ("falar com o gerente",), maria, now).escalate_phrase == (
        "falar com o gerente"
    )
    assert links.actions(ref, "pt_BR", (), maria, now).escalate_phrase == ""  # none is read
    assert links.status_url(ref, maria, now).startswith("https://support.example.com/ticket/42.")


@pytest.mark.parametrize(
    ("text", "rating", "met", "comment"),
    [
        ("1: 5, 2: sim, ótimo atendimento", 5, True, "ótimo atendimento"),
        ("1) 4\n2) não\nDemorou um pouco.", 4, False, "Demorou um pouco"),
        ("1 - cinco; 2 - yes", 5, True, ""),
        ("Nota 3. Não atendeu.", 3, False, "atendeu"),
        ("5/5, yes!", 5, True, ""),
        ("5", 5, None, ""),
        ("sim", None, True, ""),
        ("Rating: 2 - the answer came too late", 2, None, "the answer came too late"),
        ("O sistema caiu de novo hoje às 9h, preciso de ajuda urgente", None, None, ""),
        ("Obrigada!", None, None, ""),
    ],
)
def test_parse_survey_replies(
    text: str, rating: int | None, met: bool | None, comment: str
) -> None:
    answer = parse_reply(text)
    assert (answer.rating, answer.met_expectation) == (rating, met), answer
    if comment:
        assert comment in answer.comment


def test_survey_links_cannot_be_forged_or_moved_to_another_ticket() -> None:
    links = SurveyLinks(b"0123456789abcdef-secret", "https://support.example.com/")
    now, maria, ref = sp(2025, 6, 2, 9), "maria@alfa.edu.br", TicketRef(42)
    token = links.token(7, ref, maria, links.codec.expiry(now))
    claim = SurveyLinks.claim(token)
    assert claim is not None and claim.id == 7
    assert links.verify(claim, 7, ref, maria, now)
    assert not links.verify(claim, 7, TicketRef(43), maria, now)  # not another ticket's
    assert not links.verify(claim, 8, ref, maria, now)  # nor another survey's
    assert not links.verify(claim, 7, ref, "joao@alfa.edu.br", now)  # nor someone else's
    assert not links.verify(claim, 7, ref, maria, now + timedelta(days=61))  # expired
    other = SurveyLinks(b"another-secret-0123456789", "https://x")
    assert not other.verify(claim, 7, ref, maria, now)
    about = AboutTicket(TicketLine("TG-00042", "x", 3), "Maria", [], "suporte@example.com")
    invitation = links.invitation(7, ref, about, maria, now)
    assert invitation.rating_links[4][1].endswith(f"/survey/{token}?rating=5")
    assert SurveyLinks.claim("not-a-token") is None


def test_report_groups_by_agent_queue_and_month() -> None:
    rows = [
        {"month": "2025-06", "queue": "n1", "agent": "ana@example.com", "answered": True,
         "rating": 5, "met_expectation": True},
        {"month": "2025-06", "queue": "n1", "agent": "ana@example.com", "answered": True,
         "rating": 3, "met_expectation": False},
        {"month": "2025-07", "queue": "n2", "agent": None, "answered": False,
         "rating": None, "met_expectation": None},
    ]  # fmt: skip
    lines = {(line.group, line.key): line for line in summarize(rows)}
    ana = lines[("agent", "ana@example.com")]
    assert (ana.sent, ana.answered, ana.average_rating, ana.met_expectation_pct) == (2, 2, 4, 50)
    assert lines[("month", "2025-07")].answered == 0
    assert lines[("queue", "n2")].average_rating is None
    assert SurveyAnswer().empty
    assert Sla.FIRST_RESPONSE.value == "first_response"


CALENDAR_12H = Duration(time=timedelta(hours=12), basis=TimeBasis.CALENDAR)
SEED_004 = replace(  # a 24×7 first answer beside business-hours resolution
    POLICY,
    targets={
        **POLICY.targets,
        Priority.NORMAL: Targets(CALENDAR_12H, None, Duration(days=3)),
    },
    reminder_after=None,
    resolve_after=Duration(days=10, basis=TimeBasis.CALENDAR),  # seed 003: "pendente 10 dias"
)


def timers_of(state: lifecycle.ClockState, policy: Policy) -> dict[str, datetime]:
    return {
        f"{t.key.split(':')[0]}{' ' + t.sla.value if t.sla else ''}": t.due
        for t in lifecycle.desired_timers(state, policy)
    }


def test_a_24x7_first_answer_beside_a_business_hours_resolution() -> None:
    state = opened(sp(2025, 6, 6, 17))  # Friday 17:00
    dues = lifecycle.compute_dues(state, SEED_004)
    assert dues.first_response == sp(2025, 6, 7, 5)  # Saturday 05:00: the clock never stops
    assert dues.resolution == sp(2025, 6, 11, 17)  # 3 business days
    timers = timers_of(state, SEED_004)
    assert timers["breach first_response"] == sp(2025, 6, 7, 5)
    # warn_before is business time: an hour of work before Saturday 05:00 is Friday 17:00,
    # the very start of the clock, so there is no warning to give.
    assert "warn first_response" not in timers
    assert timers["breach resolution"] == sp(2025, 6, 11, 17)


def test_a_pause_delays_a_calendar_target_by_calendar_time() -> None:
    state = opened(sp(2025, 6, 6, 17))  # Friday 17:00
    waiting = lifecycle.transition(
        state, TicketStatus.WAITING_CUSTOMER, sp(2025, 6, 6, 18), SEED_004
    )
    back = lifecycle.transition(waiting, TicketStatus.OPEN, sp(2025, 6, 7, 10), SEED_004)
    assert back.paused_elapsed == timedelta(hours=16)  # Friday 18:00 → Saturday 10:00
    assert back.paused_total == timedelta(0)  # no business hour passed over the weekend night
    dues = lifecycle.compute_dues(back, SEED_004)
    assert dues.first_response == sp(2025, 6, 7, 21)  # 05:00 + 16 h
    assert dues.resolution == sp(2025, 6, 11, 17)  # unchanged: paused outside business hours


def test_a_null_target_has_no_due_time_and_no_timers() -> None:
    state = lifecycle.agent_responded(opened(sp(2025, 6, 2, 9)), sp(2025, 6, 2, 10))
    state = lifecycle.customer_wrote(state, sp(2025, 6, 2, 11))
    assert lifecycle.compute_dues(state, SEED_004).next_response is None
    assert not any("next_response" in key for key in timers_of(state, SEED_004))
    off = replace(
        SEED_004, targets={**SEED_004.targets, Priority.NORMAL: Targets(None, None, None)}
    )
    assert lifecycle.compute_dues(state, off) == lifecycle.Dues(None, None, None)
    assert lifecycle.desired_timers(state, off) == ()


def test_a_null_reminder_leaves_only_the_calendar_day_auto_resolve() -> None:
    state = opened(sp(2025, 6, 2, 9))
    waiting = lifecycle.transition(
        state, TicketStatus.WAITING_CUSTOMER, sp(2025, 6, 4, 11), SEED_004
    )
    assert timers_of(waiting, SEED_004) == {"resolve": sp(2025, 6, 14, 11)}  # a Saturday
    assert lifecycle.resolve_deadline(waiting, SEED_004) == sp(2025, 6, 14, 11)
