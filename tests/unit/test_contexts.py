"""The customer's mail contexts for an agreed date (`#due`) and an outcome (`#outcome`):
built from the ticket with the locale's `Words`, and rendered by the packaged templates
in both locales (only when there is something to say)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gateway.domain import HoldLoop, Priority, TicketRecord, TicketRef, TicketStatus
from gateway.domain.flood import EVERYONE, HoldSource, LoopSignal, Rate, Trip, Tripped
from gateway.domain.policy import Policy
from gateway.mail.contexts import (
    AboutTicket,
    Acknowledgement,
    AgentAnswer,
    AutoResolved,
    Closed,
    CustomerActions,
    LoopAlert,
    Reminder,
    StatusChanged,
    TemplateContext,
)
from gateway.mail.labels import Words, brand
from outbound.compose import Templates

ACTIONS = CustomerActions("https://x/a", "https://x/n", "https://x/e", "quero escalar")

SP = ZoneInfo("America/Sao_Paulo")
WORDS = {"pt_BR": Words("pt_BR", SP), "en": Words("en", SP)}
DUE_SHOWN = {"pt_BR": "10/12/2026 17:00 (BRT)", "en": "2026-12-10 17:00 (BRT)"}
DUE_LINE = {"pt_BR": "Prazo combinado para a solução", "en": "Agreed resolution date"}
AT = datetime(2026, 12, 7, 12, tzinfo=UTC)
TICKET = TicketRecord(
    ref=TicketRef(42), subject="Boletos", status=TicketStatus.OPEN, priority=Priority.NORMAL,
    category="problem", environment="production", queue="n1", requester="maria@alfa.edu.br",
    requester_name="Maria", organization="alfa", assignee="ana@example.com", tags=(),
    followers=(), created_at=AT, updated_at=AT, first_response_due=AT, resolution_due=AT,
    next_response_due=None, status_since=AT, first_responded_at=AT, awaiting_since=None,
    paused_at=None, paused=timedelta(0), linked_from=None,
    due_at=datetime(2026, 12, 10, 20, tzinfo=UTC), outcome="roadmap",
)  # fmt: skip
TEMPLATES = Templates(brand=brand("", ""))
LOCALES = ("pt_BR", "en")


def render(name: str, locale: str, context: TemplateContext) -> tuple[str, str]:
    rendered = TEMPLATES.render(name, locale, context.as_mapping())
    return rendered.text, rendered.html


def about(ticket: TicketRecord, locale: str) -> AboutTicket:
    return AboutTicket.of(ticket, [], "suporte@example.com", WORDS[locale])


@pytest.mark.parametrize("locale", LOCALES)
def test_the_agent_answer_shows_the_agreed_date_in_the_tickets_zone(locale: str) -> None:
    context = AgentAnswer.of("Corrigimos até quinta.", "Ana", TICKET, WORDS[locale])
    assert context.due == DUE_SHOWN[locale]
    text, html = render("agent_reply", locale, context)
    assert f"{DUE_LINE[locale]}: {DUE_SHOWN[locale]}." in text
    assert DUE_SHOWN[locale] in html
    plain = AgentAnswer.of("Oi", "Ana", replace(TICKET, due_at=None), WORDS[locale])
    assert plain.due == ""
    assert DUE_LINE[locale] not in render("agent_reply", locale, plain)[0]


PRIORITY_LINE = {"pt_BR": "Prioridade do chamado: 3 (normal)", "en": "Ticket priority: 3 ("}
TEAM_LINE = {"pt_BR": "Equipe responsável pelo chamado: Manutenção", "en": "Team now handling"}


@pytest.mark.parametrize("locale", LOCALES)
def test_the_agent_answer_tells_a_priority_and_team_set_in_the_same_mail(locale: str) -> None:
    told = AgentAnswer.of(
        "Oi", "Ana", TICKET, WORDS[locale], priority_changed=True, queue_name="Manutenção"
    )
    text, html = render("agent_reply", locale, told)
    assert PRIORITY_LINE[locale] in text and TEAM_LINE[locale] in text
    assert "Manutenção" in html
    quiet = render("agent_reply", locale, AgentAnswer.of("Oi", "Ana", TICKET, WORDS[locale]))[0]
    assert PRIORITY_LINE[locale] not in quiet and TEAM_LINE[locale] not in quiet


@pytest.mark.parametrize("locale", LOCALES)
def test_every_status_mail_carries_the_agreed_date(locale: str) -> None:
    head = about(TICKET, locale)
    assert head.due == DUE_SHOWN[locale]
    mails: dict[str, TemplateContext] = {
        "status_changed": StatusChanged(head, "waiting_customer", "x", "", "", ACTIONS),
        "reminder": Reminder(head, since="x", deadline="y"),
        "auto_resolved": AutoResolved(head, waited="x", deadline="y", actions=ACTIONS),
        "closed": Closed(head, cause="", new_ticket_on_reply=True),
    }
    for name, context in mails.items():
        text, html = render(name, locale, context)
        assert f"{DUE_LINE[locale]}: {DUE_SHOWN[locale]}." in text, name
        assert DUE_SHOWN[locale] in html, name
    without = about(replace(TICKET, due_at=None), locale)
    assert without.due == ""
    assert DUE_LINE[locale] not in render("reminder", locale, Reminder(without, "x", "y"))[0]


@pytest.mark.parametrize("locale", LOCALES)
def test_the_resolution_and_closing_mail_carry_the_outcome_paragraph(locale: str) -> None:
    paragraph = Policy.seeds_default(SP).outcome_text("roadmap", locale)
    assert "roadmap" in paragraph
    head = about(TICKET, locale)
    resolved = StatusChanged(head, "resolved", "resolvido", "", "", ACTIONS, paragraph)
    closed = Closed(head, cause="", new_ticket_on_reply=True, outcome=paragraph)
    for name, context in (("status_changed", resolved), ("closed", closed)):
        text, html = render(name, locale, context)
        assert paragraph in text and paragraph in html, name
    assert paragraph not in render("status_changed", locale, replace(resolved, outcome=""))[0]


def test_outcome_paragraphs_per_locale_and_unknown_ids() -> None:
    policy = Policy.seeds_default(SP)
    assert policy.outcome_text("fixed", "pt_BR").startswith("Desfecho: o problema foi corrigido")
    assert policy.outcome_text("fixed", "en").startswith("Outcome: the problem was fixed")
    assert policy.outcome_text(None, "en") == ""
    assert policy.outcome_text("gone_from_the_policy", "en") == ""
    for outcome in policy.outcomes:
        assert outcome.text("pt_BR") and outcome.text("en"), outcome.id


@pytest.mark.parametrize("locale", LOCALES)
def test_an_acknowledgement_of_a_ticket_opened_with_a_date_shows_it(locale: str) -> None:
    context = Acknowledgement.of(TICKET, "Maria", "suporte@example.com", WORDS[locale])
    assert DUE_SHOWN[locale] in render("acknowledgement", locale, context)[0]
    plain = Acknowledgement.of(replace(TICKET, due_at=None), "Maria", "s@x", WORDS[locale])
    assert DUE_LINE[locale] not in render("acknowledgement", locale, plain)[0]


@pytest.mark.parametrize("locale", LOCALES)
def test_an_auto_resolved_mail_without_a_close_deadline_names_none(locale: str) -> None:
    """An empty `close_after` gives no deadline: no "até :" / "by ," is left behind."""
    context = AutoResolved(about(TICKET, locale), waited="5 dias úteis", deadline="",
                           actions=ACTIONS)  # fmt: skip
    text, html = render("auto_resolved", locale, context)
    for broken in ("até :", "até ,", "by  ", "by ,", "by and"):
        assert broken not in text and broken not in html, broken
    assert ("será reaberto" if locale == "pt_BR" else "will be reopened") in text


ROBOT = "robo@alfa.edu.br"
HOUR = timedelta(hours=1)
# Each way a loop is held, the receipt's English reason, and the alert's reason per locale.
LOOPS = [
    (
        HoldLoop(f"mail from {ROBOT} over sender_mails (30 per 10m)", HoldSource.SENDER, ROBOT,
                 Tripped(Trip.SENDER_MAILS, Rate(30, timedelta(minutes=10)))),
        f"mais de 30 mensagens de {ROBOT} em 10 minutos ([limits] sender_mails).",
        f"more than 30 mails from {ROBOT} in 10 minutes ([limits] sender_mails).",
    ),
    (
        HoldLoop("mail on TG-00042 over ticket_mails (10 per 5m)", HoldSource.TICKET,
                 "TG-00042", Tripped(Trip.TICKET_MAILS, Rate(10, timedelta(minutes=5)))),
        "mais de 10 mensagens no chamado TG-00042 em 5 minutos ([limits] ticket_mails).",
        "more than 10 mails on ticket TG-00042 in 5 minutes ([limits] ticket_mails).",
    ),
    (
        HoldLoop(f"loop signals from {ROBOT} over loop_signals (3 per 1h): the same text again;"
                 " quotes our own mail back outside a live thread", HoldSource.SENDER, ROBOT,
                 Tripped(Trip.LOOP_SIGNALS, Rate(3, HOUR),
                         (LoopSignal.REPEATED, LoopSignal.QUOTED_BACK))),
        f"mais de 3 mensagens de {ROBOT} com sinais de laço em 1 hora (o mesmo texto de novo; "
        "cita de volta uma mensagem nossa fora de uma conversa em andamento) "
        "([limits] loop_signals).",
        f"more than 3 mails from {ROBOT} with loop signals in 1 hour (the same text again; "
        "quotes our own mail back outside a live thread) ([limits] loop_signals).",
    ),
    (
        HoldLoop(f"tickets opened by {ROBOT} over sender_tickets (20 per 1h)", HoldSource.SENDER,
                 ROBOT, Tripped(Trip.SENDER_TICKETS, Rate(20, HOUR))),
        f"mais de 20 chamados abertos por {ROBOT} em 1 hora ([limits] sender_tickets).",
        f"more than 20 tickets opened by {ROBOT} in 1 hour ([limits] sender_tickets).",
    ),
    (
        HoldLoop("tickets opened by everyone over global_tickets (1000 per 1h)",
                 HoldSource.EVERYONE, EVERYONE,
                 Tripped(Trip.GLOBAL_TICKETS, Rate(1000, timedelta(days=2)))),
        "mais de 1000 chamados abertos no total em 2 dias ([limits] global_tickets).",
        "more than 1000 tickets opened by everyone in 2 days ([limits] global_tickets).",
    ),
    (
        HoldLoop(f"{ROBOT} repeated an earlier answer on TG-00042: not relayed",
                 HoldSource.TICKET, "TG-00042", Tripped(Trip.REPEATED_ANSWER)),
        f"{ROBOT} repetiu uma resposta anterior no chamado TG-00042, que não foi repassada ao "
        "cliente.",
        f"{ROBOT} repeated an earlier answer on ticket TG-00042, not relayed to the customer.",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("loop", "pt_br", "en"), LOOPS, ids=[x[0].tripped.trip for x in LOOPS])
def test_a_loop_alert_tells_why_in_the_mails_locale(loop: HoldLoop, pt_br: str, en: str) -> None:
    """The admins read which limit, its count and window in their language; the receipt's
    English reason stays in the receipt (and in the context, for an admin's own template)."""
    for locale, reason, word in (("pt_BR", pt_br, "Motivo: "), ("en", en, "Reason: ")):
        context = LoopAlert.of(loop, "Confirmação 7", ROBOT, WORDS[locale])
        assert context.reason == loop.reason
        text, html = render("loop_alert", locale, context)
        assert word + reason + "\n" in text
        assert word + reason + "<br>" in html
        assert loop.reason not in text and loop.reason not in html
        if locale == "pt_BR":
            assert not {"over", "per", "mails", "tickets", "relayed"} & set(text.split())
