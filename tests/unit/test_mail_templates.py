"""Every packaged mail template renders in both locales from the context its mail is
queued with, and the gateway's mail to a customer ends in one footer per locale and
format (`_footer.txt.j2`, `_footer.html.j2`): the status link when the mail has one, then
the sign-off. An admin's file of that name replaces the footer in every such mail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from gateway.domain import (
    AgentNews,
    Directory,
    HoldLoop,
    Priority,
    TicketRecord,
    TicketRef,
    TicketStatus,
)
from gateway.domain.flood import HoldSource, Rate, Trip, Tripped
from gateway.mail.contexts import (
    AboutTicket,
    Acknowledgement,
    AgentAnswer,
    AgentNotification,
    AutoResolved,
    Closed,
    CommandErrors,
    CustomerActions,
    EscalationAnswer,
    EscalationNotice,
    HistoryLine,
    LoopAlert,
    Rejection,
    Reminder,
    SlaNotice,
    StatusChanged,
    SurveyInvitation,
    TicketFacts,
    TicketLine,
)
from gateway.mail.labels import Words, brand
from outbound.compose import LOCALES, Templates

SP = ZoneInfo("America/Sao_Paulo")
AT = datetime(2026, 12, 7, 12, tzinfo=UTC)
SUPPORT = "suporte@example.com"
STATUS_URL = "https://suporte.example.com/ticket/42.20261231.c2lnbmVk"
TICKET = TicketRecord(
    ref=TicketRef(42), subject="Boletos não chegam", status=TicketStatus.RESOLVED,
    priority=Priority.HIGH, category="problem", environment="production", queue="n1",
    requester="maria@alfa.edu.br", requester_name="Maria Souza", organization="alfa",
    assignee="ana@example.com", tags=(), followers=(), created_at=AT, updated_at=AT,
    first_response_due=AT, resolution_due=AT + timedelta(days=3), next_response_due=None,
    status_since=AT, first_responded_at=AT, awaiting_since=None, paused_at=None,
    paused=timedelta(0), linked_from=None, due_at=None, outcome=None,
)  # fmt: skip
ACTIONS = CustomerActions(
    f"{STATUS_URL}?a=approve", f"{STATUS_URL}?a=not_solved", f"{STATUS_URL}?a=escalate", "escalar"
)
# The templates whose mail the gateway signs to a customer: they end in the footer.
CUSTOMER_MAIL = ("acknowledgement", "auto_resolved", "closed", "escalation_answer", "reminder",
                 "status_changed", "survey")  # fmt: skip
SIGN_OFF = {"pt_BR": "Atenciosamente,", "en": "Kind regards,"}
LINK_WORDS = {
    "pt_BR": "Acompanhe o chamado e a conversa",
    "en": "Follow the ticket and its conversation",
}


def contexts(words: Words) -> dict[str, dict[str, object]]:
    """Each template's context, built as the code that queues its mail builds it."""
    about = AboutTicket.of(TICKET, [HistoryLine("07/12/2026 09:00 (BRT)", "Cliente",
                                                "Os boletos não chegam desde ontem.")],
                           SUPPORT, words)  # fmt: skip
    facts = TicketFacts.of(TICKET, Directory(), words)
    when = words.when(AT)
    sla = SlaNotice(TicketLine.of(TICKET), words.sla("resolution"), when, "Suporte Nível 1",
                    "ana@example.com", 1, "r+42@example.com", "n+42@example.com")  # fmt: skip
    loop = HoldLoop("mail from robo@alfa.edu.br over sender_mails (30 per 10m)",
                    HoldSource.SENDER, "robo@alfa.edu.br",
                    Tripped(Trip.SENDER_MAILS, Rate(30, timedelta(minutes=10))))  # fmt: skip
    built = {
        "acknowledgement": Acknowledgement.of(TICKET, "Maria Souza", SUPPORT, words),
        "rejection": Rejection(SUPPORT, "Peça à secretaria para cadastrar o seu endereço."),
        "agent_notification": AgentNotification(
            AgentNews.NEW,
            "Maria Souza <maria@alfa.edu.br>",
            "Os boletos não chegam.",
            words.reply_marker,
            "r+42@example.com",
            "n+42@example.com",
            False,
            facts,
            [],
        ),
        "agent_reply": AgentAnswer.of("Reenviamos os boletos.", "Ana", TICKET, words),
        "agent_command_errors": CommandErrors([words.fault("x")], "TG-00042"),
        "status_changed": StatusChanged(
            about, "resolved", words.status("resolved"), "", when, ACTIONS
        ),
        "closed": Closed(about, "", new_ticket_on_reply=False),
        "survey": SurveyInvitation(
            about,
            f"{STATUS_URL}/survey",
            [(n, f"{STATUS_URL}?r={n}") for n in range(1, 6)],
            {"yes": f"{STATUS_URL}?m=1", "no": f"{STATUS_URL}?m=0"},
        ),
        "reminder": Reminder(about, when, when),
        "auto_resolved": AutoResolved(about, "5 dias úteis", when, ACTIONS),
        "escalation_answer": EscalationAnswer(about, True, "Suporte Nível 2", "", ""),
        "escalation_notice": EscalationNotice(facts, "Maria Souza", "Quero falar com a direção."),
        "sla_warning": sla,
        "sla_breach": sla,
        "loop_alert": LoopAlert.of(loop, "Confirmação 7", "robo@alfa.edu.br", words),
    }
    mappings = {name: context.as_mapping() for name, context in built.items()}
    mappings["admin_alert"] = {"what": "rules", "problems": ["rules/10.yaml:3: unknown key"]}
    return mappings


@pytest.mark.parametrize("locale", LOCALES)
def test_every_mail_template_renders_and_customer_mail_ends_in_the_footer(locale: str) -> None:
    templates = Templates(brand=brand("Escola Digital", ""))
    signature = brand("Escola Digital", "")[locale]["signature"]
    built = contexts(Words(locale, SP))
    assert set(built) == templates.names(locale) - {n for n in templates.names(locale)
                                                    if n.startswith("pages/")}  # fmt: skip
    for name, context in built.items():
        for linked in (False, True):
            filled = {**context, "status_url": STATUS_URL} if linked else context
            rendered = templates.render(name, locale, filled)
            assert rendered.subject and rendered.text.endswith("\n"), name
            assert rendered.html.rstrip().endswith("</body></html>"), name
            for part in (rendered.subject, rendered.text, rendered.html):
                assert "{{" not in part and "{%" not in part, name
            if name not in CUSTOMER_MAIL:
                # The rejection names no ticket; an agent signs the answer below its link.
                if name != "agent_reply":
                    assert STATUS_URL not in rendered.text + rendered.html, name
                continue
            text_end = f"{SIGN_OFF[locale]}\n{signature}\n"
            link = f"{LINK_WORDS[locale]}:\n{STATUS_URL}\n\n" if linked else ""
            assert rendered.text.endswith(link + text_end), (name, rendered.text[-200:])
            html_link = (
                f'<p><a href="{STATUS_URL}">{LINK_WORDS[locale]}</a></p>\n' if linked else ""
            )
            html_end = f"{html_link}<p>{SIGN_OFF[locale]}<br>{signature}</p>\n</body></html>\n"
            assert rendered.html.endswith(html_end), (name, rendered.html[-300:])


def test_an_admin_footer_replaces_it_in_every_customer_mail_of_its_locale(
    tmp_path: Path,
) -> None:
    for name, text in {
        "pt_BR/_footer.txt.j2": "Abraços da {{ company_name }}\n{% if status_url is defined %}"
        "{{ status_url }}\n{% endif %}",
        "pt_BR/_footer.html.j2": "<p>Abraços da {{ company_name }}</p>\n",
        # An override written before the footer was shared keeps its own ending.
        "pt_BR/reminder.txt.j2": "Ainda esperamos o seu retorno sobre {{ ticket.ref }}.\n",
    }.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    templates = Templates(tmp_path, brand("Escola Digital", ""))
    assert templates.problems() == []  # a partial is no own template missing its subject
    assert "_footer" not in templates.names("pt_BR") | templates.own_names("pt_BR")
    assert templates.rule_templates("pt_BR")["reply_with"] == {"acknowledgement"}
    pt_br, en = contexts(Words("pt_BR", SP)), contexts(Words("en", SP))
    for name in CUSTOMER_MAIL:
        if name == "reminder":
            continue
        rendered = templates.render(name, "pt_BR", {**pt_br[name], "status_url": STATUS_URL})
        assert rendered.text.endswith(f"Abraços da Escola Digital\n{STATUS_URL}\n"), name
        assert "Atenciosamente" not in rendered.text and "Atenciosamente" not in rendered.html
        assert rendered.html.endswith("<p>Abraços da Escola Digital</p>\n</body></html>\n")
        english = templates.render(name, "en", en[name])  # the other locale keeps its own
        assert english.text.endswith("Kind regards,\nThe Escola Digital Support Team\n"), name
    reminder = templates.render("reminder", "pt_BR", pt_br["reminder"])
    assert reminder.text == "Ainda esperamos o seu retorno sobre TG-00042.\n"
    assert reminder.html.endswith("<p>Abraços da Escola Digital</p>\n</body></html>\n")
