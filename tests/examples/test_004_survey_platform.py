"""examples/004-survey-platform (seed 004, Droz Survey) played by mail over SMTP.

Anyone at a customer's domain writes in and is acknowledged with the tips the seed gives
(OS, browser, images); tickets wait in chronological order, each due a first answer 12
clock hours after it arrived (time travel: a night counts). The first answer states the
priority and the promised resolution date and asks for details, leaving the ticket
waiting; the customer's colleague sends them with a screenshot and it reopens. Four
tickets end with the four outcomes, each told to its customer.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gateway.config.policy_file import load_policy
from tests.support.examples import Deployment
from tests.support.mailfiles import new_message_id
from tests.support.sink import SunkMail

pytestmark = pytest.mark.e2e

FELIPE, ROSA = "Felipe Araújo <felipe@varejomais.com.br>", "Rosa Lima <rosa.lima@varejomais.com.br>"
SONIA, IVO = "Dra. Sônia Matos <sonia@bemestar.med.br>", "Ivo Campos <ivo@clinicabem.com.br>"
CAMILA, HENRIQUE = "Camila Duarte <camila@2listen.com.br>", "<henrique@2listen.com.br>"
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 64).decode()


def details_with_screenshot(answer: SunkMail) -> bytes:
    """Rosa (Felipe's colleague, never listed anywhere) answers from Thunderbird with a
    screenshot attached: multipart/mixed, the text, then the image."""
    boundary = "------------tb0123456789abcdef"
    return (
        f"From: {ROSA}\r\nTo: {answer.header('Reply-To')}\r\nCc: {FELIPE}\r\n"
        f"Subject: Re: {answer.header('Subject')}\r\n"
        f"Message-ID: {new_message_id('varejomais.com.br')}\r\n"
        f"In-Reply-To: {answer.header('Message-ID')}\r\n"
        f"References: {answer.header('Message-ID')}\r\n"
        "Date: Tue, 1 Dec 2026 10:02:11 -0300\r\nMIME-Version: 1.0\r\n"
        "User-Agent: Mozilla Thunderbird\r\nContent-Language: pt-BR\r\n"
        f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n'
        f"--{boundary}\r\nContent-Type: text/plain; charset=UTF-8; format=flowed\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n"
        "Oi, sou a Rosa, da equipe do Felipe. Windows 11, Chrome 131.\r\n"
        "Passos: Pesquisas > Convites > Enviar agora; a tela fica girando.\r\n"
        "Segue a imagem.\r\n\r\n"
        f"Em 01/12/2026 09:40, Suporte escreveu:\r\n> texto anterior\r\n\r\n"
        f"--{boundary}\r\nContent-Type: image/png; name=tela.png\r\n"
        "Content-Disposition: attachment; filename=tela.png\r\n"
        f"Content-Transfer-Encoding: base64\r\n\r\n{PNG}\r\n--{boundary}--\r\n"
    ).encode()


def test_open_domains_first_answer_priority_details_and_four_outcomes(
    deploy: Callable[[str], Deployment],
) -> None:
    d = deploy("004-survey-platform")
    policy = load_policy(d.config.folder / "policy.yaml", ZoneInfo("America/Sao_Paulo"))
    felipe = "felipe@varejomais.com.br"

    # Anyone at a customer's domain may write; the acknowledgement gives the seed's tips.
    invites, _ = d.customer_writes(
        FELIPE, "Convites do questionário não são enviados", "O botão Enviar agora não funciona."
    )
    ack = d.mail_to(felipe, invites)
    assert "ordem cronológica" in ack.text and "sistema operacional e o navegador" in ack.text
    assert "Prioridade" not in ack.text  # set by the first analysis, not by the robot
    export, _ = d.customer_writes(
        SONIA, "Erro ao exportar relatório", "A exportação para Excel dá erro 500."
    )
    # Chronological: the first to arrive is the first due; 12 clock hours each.
    listed = [t["ref"] for t in d.config.cli_json("tickets", "list")]
    assert listed.index(invites) < listed.index(export)
    for ref in (invites, export):
        shown = d.show(ref)
        waited = datetime.fromisoformat(shown["first_response_due"]) - datetime.fromisoformat(
            shown["created_at"]
        )
        assert waited == timedelta(hours=12)
    assert d.show(export)["organization"] == "clinica-bem"

    # The first answer: priority, promised resolution date, and a request for details.
    promise = policy.calendar.add_days(datetime.now(policy.calendar.zone), 2).strftime("%d/%m/%Y")
    notification = d.mail_to("camila@2listen.com.br", invites)
    d.agent_replies(
        CAMILA, notification,
        f"#atribuir eu\n#prioridade 1\n#prazo {promise}\n#status aguardando_cliente\n\n"
        "Felipe, para reproduzir precisamos do sistema operacional, do navegador,"
        " do caminho até o erro e de uma imagem da tela.",
    )  # fmt: skip
    first = d.mail_to(felipe, f"[#{invites}] Re:")
    assert "Prioridade do chamado: 1 (alta)" in first.text
    assert f"Prazo combinado para a solução: {promise} 18:00" in first.text
    assert "aguardando o seu retorno" in first.text and "do navegador" in first.text
    assert d.show(invites)["status"] == "waiting_customer"
    # A colleague at the same domain sends the details with a screenshot: back to work.
    code, said = d.serve.send(
        details_with_screenshot(first), "rosa.lima@varejomais.com.br", first.header("Reply-To")
    )
    assert code == 250 and b"threaded" in said, said
    told = d.mail_to("camila@2listen.com.br", invites, seen=1)
    assert "Windows 11, Chrome 131" in told.text
    shown = d.show(invites)
    assert shown["status"] == "open"
    [detail] = [m for m in shown["messages"] if m["sender"] == "rosa.lima@varejomais.com.br"]
    assert [a["filename"] for a in detail["attachments"]] == ["tela.png"]

    # Nobody answered the export ticket: at 12 clock hours (a night included) it breaches.
    due = d.show(export)["first_response_due"]
    assert d.run_once(due).get("sla_breached", 0) >= 1
    d.flush(due)
    breached = f"[SLA] {export}: prazo de primeira resposta vencido"
    for agent in ("camila@2listen.com.br", "henrique@2listen.com.br"):  # no assignee: the queue
        d.mail_to(agent, breached)
    assert d.mails_to("camila@2listen.com.br", f"[SLA] {invites}") == []  # answered in time

    # The four outcomes, each told to its customer in the mail saying the ticket is resolved.
    roadmap, _ = d.customer_writes(IVO, "Sugestão: exportar respostas em PDF", "Seria ótimo.")
    partner, _ = d.customer_writes(
        IVO, "Disparo por WhatsApp não funciona", "Os envios pelo WhatsApp não saem."
    )
    ends = {
        invites: ("corrigido", "fixed", felipe, "voltar a navegar normalmente"),
        export: ("nao_reproduzido", "cannot_reproduce", "sonia@bemestar.med.br",
                 "não conseguimos reproduzir o erro"),
        roadmap: ("roadmap", "roadmap", "ivo@clinicabem.com.br", "incluída no nosso roadmap"),
        partner: ("terceiro", "third_party", "ivo@clinicabem.com.br",
                  "plataforma de terceiros precisa ser envolvida"),
    }  # fmt: skip
    for ref, (word, outcome, customer, paragraph) in ends.items():
        mail = d.mail_to("henrique@2listen.com.br", ref)
        d.agent_replies(HENRIQUE, mail, f"#status resolvido\n#desfecho {word}", "gmail")
        resolved = d.mail_to(customer, f"Chamado {ref}: resolvido")
        assert paragraph in resolved.text, resolved.text
        final = d.show(ref)
        assert (final["status"], final["outcome"]) == ("resolved", outcome)
    assert d.show(invites)["priority"] == 1
