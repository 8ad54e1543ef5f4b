"""Who may speak, per organization (issue 11), end to end through real SMTP.

The test directory (tests/support/gateway_process.py): João is a contact of
Escola Alfa without permission (`can_open_tickets: false`), Alfa has a
`rejection_note`, and Instituto Gama opens its whole domain (seed 004).
"""

from __future__ import annotations

import re

import pytest

from tests.support.agents import (
    SUPPORT,
    agent_sends,
    answer_to_customer,
    barrier,
    customer_writes,
    gmail_reply,
)
from tests.support.gateway_process import GatewayConfig, ServeProcess
from tests.support.mailfiles import new_message_id, simple_mail
from tests.support.sink import SmtpSink

pytestmark = pytest.mark.e2e

JOAO = "João Lima <joao@alfa.edu.br>"
ALFA_NOTE = "fale com a secretaria da Escola Alfa (ramal 2001)"


def test_a_colleague_without_permission_gets_no_ticket_mail_and_is_rejected_when_he_writes(
    serve: ServeProcess, sink: SmtpSink, gateway_config: GatewayConfig
) -> None:
    """Seed 001: CC'd by the customer, João receives nothing; when Maria's copy is forwarded
    to him and he answers it (the signed reply address, the headers, the subject tag), he
    gets the polite rejection with Alfa's own note, and the ticket does not change."""
    ref, _, notification = customer_writes(serve, sink, extra=f"Cc: {JOAO}\r\n")
    agent_sends(serve, gmail_reply(notification, "Maria, já estamos vendo."))
    answer = answer_to_customer(sink, ref)
    assert set(answer.rcpt_tos) == {"maria@alfa.edu.br"}
    before = gateway_config.cli_json("tickets", "show", ref)
    agents_told = _about(sink, "ana@example.com", ref)

    reply = simple_mail(
        JOAO,
        f"RE: {answer.header('Subject')}",
        "Aqui na biblioteca também caiu. Qual é a previsão?",
        extra=(
            f"In-Reply-To: {answer.header('Message-ID')}\r\n"
            f"References: {answer.header('References')} {answer.header('Message-ID')}\r\n"
        ),
    )
    code, said = serve.send(reply, "joao@alfa.edu.br", answer.header("Reply-To"))
    assert code == 250 and b"rejected" in said and ref.encode() not in said, said

    [rejection] = sink.wait_for_count(1, address="joao@alfa.edu.br")
    barrier(serve, sink)
    assert len(sink.to("joao@alfa.edu.br")) == 1, "João got ticket mail"
    text = rejection.text
    assert "contato autorizado" in text and ALFA_NOTE in text
    assert ALFA_NOTE in rejection.html
    for secret in (ref, "Sistema fora do ar", "O sistema caiu", "já estamos vendo", "Ana"):
        assert secret not in text and secret not in rejection.header("Subject"), secret
    assert not re.search(r"TG-\d+", text + rejection.html)
    after = gateway_config.cli_json("tickets", "show", ref)
    assert after["messages"] == before["messages"] and after["status"] == before["status"]
    assert after["updated_at"] == before["updated_at"]
    assert _about(sink, "ana@example.com", ref) == agents_told, "agents were told of João's mail"


def _about(sink: SmtpSink, address: str, ref: str) -> int:
    """How many mails about this ticket the address has received."""
    return sum(f"[#{ref}]" in m.header("Subject") for m in sink.to(address))


def test_a_stranger_at_an_open_domain_opens_a_ticket_and_is_acknowledged(
    serve: ServeProcess, sink: SmtpSink, gateway_config: GatewayConfig
) -> None:
    """Seed 004: Instituto Gama authorized its whole domain (`domain_policy: open`)."""
    sender = "Rui Prado <rui@gama.org.br>"
    code, said = serve.send(
        simple_mail(sender, "Projetor não liga", "O projetor da sala 3 não liga."),
        "rui@gama.org.br",
        SUPPORT,
    )
    assert code == 250 and b"created" in said, said
    ref = said.decode().rsplit(" ", 1)[1]
    [ack] = sink.wait_for_count(1, address="rui@gama.org.br")
    assert f"[#{ref}]" in ack.header("Subject")
    shown = gateway_config.cli_json("tickets", "show", ref)
    assert shown["organization"] == "gama" and shown["requester"] == "rui@gama.org.br"


@pytest.mark.parametrize(
    ("sender", "note"),
    [("Visitante <visitante@alfa.edu.br>", True), ("Intruso <intruso@evil.example>", False)],
)
def test_the_organizations_rejection_note_reaches_its_people_only(
    sender: str, note: bool, serve: ServeProcess, sink: SmtpSink
) -> None:
    """An address at Alfa's domain, not a contact, reads Alfa's own instructions; a sender
    of no organization gets the plain rejection."""
    address = sender.split("<")[1].rstrip(">")
    raw = simple_mail(sender, "Preciso de ajuda", "Olá.", message_id=new_message_id())
    code, said = serve.send(raw, address, SUPPORT)
    assert code == 250 and b"rejected" in said, said
    [rejection] = sink.wait_for_count(1, address=address)
    assert "contato autorizado" in rejection.text
    assert (ALFA_NOTE in rejection.text) is note
