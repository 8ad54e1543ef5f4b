"""The readers of what a customer's reply asks: approve the solution, say it is not solved,
ask for escalation (gateway/domain/customer_intent.py).

Real replies go through the same reply extraction as the pipeline (inbound/reply_text.py)
first: Gmail's "Em … escreveu:" quote, Outlook's top-post with its header block, an
iPhone's signature. Our own mail's instructions, if a client quotes them without ">",
must never read as the customer's approval or request.
"""

from __future__ import annotations

import pytest

from gateway.domain.customer_intent import (
    DEFAULT_ESCALATION_PHRASES,
    Verdict,
    asks_to_escalate,
    read_verdict,
)
from gateway.mail.contexts import AboutTicket, CustomerActions, StatusChanged, TicketLine
from gateway.mail.labels import brand
from inbound.reply_text import extract_reply
from outbound.compose import Templates

GMAIL_QUOTE = """
Em seg., 2 de jun. de 2025 às 11:00, Suporte <suporte@example.com> escreveu:

> Olá Maria,
>
> O status do seu chamado TG-00001 (Boletos) mudou para: resolvido.
>
> - Aprovar: responda "Aprovado" (ou "pode encerrar") e o chamado será encerrado.
> - Não foi resolvido: responda contando o que ainda acontece.
> Se o atendimento atual não atender a sua necessidade, responda "quero escalar".
"""
OUTLOOK_HEADER = """
________________________________
De: Suporte <suporte@example.com>
Enviado: segunda-feira, 2 de junho de 2025 11:00
Para: Maria Souza <maria@alfa.edu.br>
Assunto: [#TG-00001] Chamado TG-00001: resolvido

Olá Maria,
O problema foi resolvido? Precisamos da sua aprovação: responda "Aprovado".
Não foi resolvido: responda contando o que ainda acontece.
"""
OUTLOOK_EN = """
From: Support <support@example.com>
Sent: Monday, June 2, 2025 11:00 AM
To: Mary <mary@alfa.edu.br>
Subject: [#TG-00001] Ticket TG-00001: resolved

Is the problem solved? Reply "Approved" and the ticket is closed at once.
"""
IPHONE = """

Sent from my iPhone

> On 2 Jun 2025, at 11:00, Support <support@example.com> wrote:
>
> Is the problem solved? Reply "Approved" or tell us it is not solved.
"""
IPHONE_PT = """

Enviado do meu iPhone

> Em 2 de jun. de 2025, à(s) 11:00, Suporte <suporte@example.com> escreveu:
>
> O problema foi resolvido? Responda "Aprovado".
"""
SIGNATURE = "\n\nAtt,\nMaria Souza\nCoordenação Pedagógica | Escola Alfa\n(47) 3333-1234\n"


def verdict(body: str) -> Verdict:
    return read_verdict(extract_reply(body))


@pytest.mark.parametrize(
    "body",
    [
        "Aprovado, pode encerrar." + GMAIL_QUOTE,
        "aprovado" + GMAIL_QUOTE,
        "Pode fechar, obrigada!" + SIGNATURE + GMAIL_QUOTE,
        "Resolvido, obrigado" + IPHONE_PT,
        "Bom dia,\n\nTestei aqui e está funcionando. Podem encerrar o chamado."
        + SIGNATURE
        + OUTLOOK_HEADER,
        "Funcionou! Muito obrigada pela ajuda." + SIGNATURE,
        "Tudo certo por aqui, pode fechar." + OUTLOOK_HEADER,
        "Não precisa reabrir, está resolvido." + GMAIL_QUOTE,
        "Approved" + OUTLOOK_EN,
        "You can close it, thanks." + OUTLOOK_EN,
        "Works now, thanks!" + IPHONE,
        "All good, it works again. Feel free to close." + IPHONE,
    ],
)
def test_approvals(body: str) -> None:
    assert verdict(body) is Verdict.APPROVED


@pytest.mark.parametrize(
    "body",
    [
        "Não está resolvido." + GMAIL_QUOTE,
        "Ainda não funciona, o boleto sai em branco." + GMAIL_QUOTE,
        "ainda nao funciona" + IPHONE_PT,
        "Não funcionou, o boleto continua com erro." + SIGNATURE + OUTLOOK_HEADER,
        "O problema persiste." + OUTLOOK_HEADER,
        "Infelizmente voltou a dar erro hoje cedo." + SIGNATURE,
        "Não aprovo, o relatório ainda está com erro." + GMAIL_QUOTE,
        "Por favor, não encerrem: não sei se foi resolvido." + GMAIL_QUOTE,
        "Resolvido não." + IPHONE_PT,
        "Not solved." + OUTLOOK_EN,
        "Still getting the same error on the invoice screen." + OUTLOOK_EN,
        "It doesn't work, sorry." + IPHONE,
        "Please don’t close the ticket yet." + IPHONE,
        "I can't approve this, it's still broken." + OUTLOOK_EN,
    ],
)
def test_not_solved(body: str) -> None:
    assert verdict(body) is Verdict.NOT_SOLVED


@pytest.mark.parametrize(
    "body",
    [
        "Segue o print." + GMAIL_QUOTE,
        "Obrigada!" + IPHONE_PT,
        # Approval words with a question, a "but" or a long message are for the agents.
        "Resolvido? Vocês sabem quando sai a nova versão?" + GMAIL_QUOTE,
        "Resolvido, mas agora preciso emitir o relatório de notas." + OUTLOOK_HEADER,
        "Fixed, but the PDF export is slow now." + OUTLOOK_EN,
        "Resolvido o primeiro ponto. " + "Agora o segundo ponto do chamado é mais longo. " * 8,
        "",
    ],
)
def test_neither(body: str) -> None:
    assert verdict(body) is Verdict.NONE


@pytest.mark.parametrize(
    ("body", "asks"),
    [
        ("Quero escalar este chamado, já são 5 dias sem solução." + GMAIL_QUOTE, True),
        ("Bom dia.\n\nSolicito o escalonamento do chamado." + SIGNATURE + OUTLOOK_HEADER, True),
        ("Preciso falar com o supervisor." + IPHONE_PT, True),
        ("Gostaria de falar com a SUPERVISÃO, por favor." + SIGNATURE, True),
        ("Estou sem resposta há 3 dias e quero escalar o chamado." + SIGNATURE, True),
        ("Please escalate this to your manager." + OUTLOOK_EN, True),
        ("This is urgent: escalate this ticket." + IPHONE, True),
        ("Não quero escalar ainda, obrigada." + GMAIL_QUOTE, False),
        ("No need to escalate this, thanks." + IPHONE, False),
        ("I don't think you need to escalate this." + OUTLOOK_EN, False),
        ("Segue o print do erro." + GMAIL_QUOTE, False),  # only the quote says it
        ("Ainda falha." + GMAIL_QUOTE, False),
    ],
)
def test_escalation_requests(body: str, asks: bool) -> None:
    assert asks_to_escalate(extract_reply(body), DEFAULT_ESCALATION_PHRASES) is asks


def test_escalation_reads_only_the_configured_phrases() -> None:
    assert asks_to_escalate("Quero   falar\ncom o gerente", ["quero falar com o gerente"])
    assert not asks_to_escalate("Quero escalar.", ["falar com o gerente"])
    assert not asks_to_escalate("Quero escalar.", [])


@pytest.mark.parametrize("locale", ["pt_BR", "en"])
@pytest.mark.parametrize("status", ["resolved", "waiting_customer", "open"])
def test_our_own_instructions_quoted_without_marks_are_never_the_customers_words(
    locale: str, status: str
) -> None:
    """A client that pastes our status mail below the reply with no ">" must not approve
    the ticket nor escalate it for the customer."""
    about = AboutTicket(TicketLine("TG-00001", "Boletos", 3), "Maria", [], "suporte@ex.com")
    actions = CustomerActions(
        "https://s/resolution/1.x?answer=approved",
        "https://s/resolution/1.x?answer=not_solved",
        "https://s/escalation/1.x",
        "quero escalar" if locale == "pt_BR" else "please escalate",
    )
    context = StatusChanged(about, status, status, "", "01/01/2026 10:00", actions)
    rendered = Templates(brand=brand("", "")).render("status_changed", locale, context.as_mapping())
    for text in (rendered.text, "Obrigada.\n\n" + rendered.text):
        assert read_verdict(text) is not Verdict.APPROVED
        assert not asks_to_escalate(text, DEFAULT_ESCALATION_PHRASES)
