"""A ticket travels between teams by mail (issue 10), end to end through real SMTP.

Front desk (n1: Ana, Carlos) hands to level 2 (n2: Bruno); each hand-off's
mail is checked as the agent receives it, and each agent acts only through
the addresses signed for them in that mail.
"""

from __future__ import annotations

import re

import pytest

from tests.support.agents import (
    AGENT_AUTH,
    SUPPORT,
    agent_sends,
    answer_to_customer,
    customer_writes,
    gmail_reply,
    outlook_reply,
)
from tests.support.gateway_process import GatewayConfig, ServeProcess
from tests.support.mailfiles import simple_mail
from tests.support.sink import SmtpSink, SunkMail
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e

AGENT = r"suporte\+tg-\d{5}\.[a-z2-7]{16}\.agent@example\.com"
NOTE = r"suporte\+tg-\d{5}\.[a-z2-7]{16}\.note@example\.com"


def mail_with_subject(sink: SmtpSink, address: str, start: str) -> SunkMail:
    def found() -> SunkMail | None:
        hits = [m for m in sink.to(address) if start in m.header("Subject")]
        return hits[-1] if hits else None

    return wait_for(found, 20, f"a mail to {address} with '{start}'")


def test_front_desk_to_level_two_and_back_each_step_told_with_the_whole_ticket(
    serve: ServeProcess, sink: SmtpSink, gateway_config: GatewayConfig
) -> None:
    ref, _, notification = customer_writes(serve, sink)
    # Ana takes it, then hands it to level 2 with an internal word for Bruno (Outlook).
    agent_sends(serve, outlook_reply(notification, "#atribuir eu"))
    agent_sends(
        serve, outlook_reply(notification, "#fila n2\n#nota\n\nBruno, é no servidor de notas.")
    )
    handed = mail_with_subject(sink, "bruno@example.com", "Chamado encaminhado à sua fila")
    assert "Bruno, é no servidor de notas." in handed.text
    assert "O sistema caiu hoje cedo na secretaria." in handed.text  # the conversation so far
    assert re.fullmatch(AGENT, handed.header("Reply-To"))
    assert handed.header("Reply-To") in handed.text and re.search(NOTE, handed.text)
    shown = gateway_config.cli_json("tickets", "show", ref)
    assert shown["queue"] == "n2" and shown["assignee"] is None  # Ana was dropped
    # Bruno got one mail for it (the hand-off carries the note), not a second note mail.
    assert [m for m in sink.to("bruno@example.com") if ref in m.header("Subject")] == [handed]
    # Bruno answers the customer from his hand-off mail (Gmail) and asks her for a test.
    agent_sends(
        serve,
        gmail_reply(
            handed, "#status aguardando_cliente\n\nMaria, pode testar de novo?",
            sender="Bruno Costa <bruno@example.com>",
        ),
        agent="bruno@example.com",
    )  # fmt: skip
    answer = answer_to_customer(sink, ref)
    assert "Maria, pode testar de novo?" in answer.text
    assert "Situação do chamado: aguardando o seu retorno; sem resposta até" in answer.text
    assert "bruno@example.com" not in answer.text and "Bruno" in answer.text
    # Bruno takes it and sends it back to the front desk, keeping it: n1 hears; he stays.
    agent_sends(
        serve,
        gmail_reply(handed, "#atribuir eu\n#fila n1 manter\n#nota\n\nFalta o acesso do aluno.",
                    sender="Bruno <bruno@example.com>"),
        agent="bruno@example.com",
    )  # fmt: skip
    back = mail_with_subject(sink, "carlos@example.com", "Chamado encaminhado à sua fila")
    assert "Falta o acesso do aluno." in back.text and "Maria, pode testar de novo?" in back.text
    shown = gateway_config.cli_json("tickets", "show", ref)
    assert shown["queue"] == "n1" and shown["assignee"] == "bruno@example.com"


def test_a_reassignment_tells_the_new_assignee(serve: ServeProcess, sink: SmtpSink) -> None:
    ref, _, notification = customer_writes(serve, sink)
    agent_sends(serve, outlook_reply(notification, "#atribuir carlos@example.com\n#nota\n\nOi."))
    assigned = mail_with_subject(sink, "carlos@example.com", "Chamado atribuído a você")
    assert "Oi." in assigned.text and ref in assigned.header("Subject")


def test_an_agent_without_the_mail_asks_for_it_and_acts_through_the_fresh_copy(
    serve: ServeProcess, sink: SmtpSink, gateway_config: GatewayConfig
) -> None:
    ref, _, _ = customer_writes(serve, sink)
    # Bruno (level 2) never got this ticket's mail: a [#REF] subject asks for it.
    code, answer = serve.send(
        simple_mail("Bruno Costa <bruno@example.com>", f"[#{ref}]", "", extra=AGENT_AUTH),
        "bruno@example.com",
        SUPPORT,
    )
    assert code == 250 and ref.encode() not in answer
    copy = mail_with_subject(sink, "bruno@example.com", "Chamado (cópia pedida)")
    assert re.fullmatch(AGENT, copy.header("Reply-To"))
    assert not [m for m in sink.to("bruno@example.com") if "Não executado" in m.header("Subject")]
    # Through the fresh copy's signed address he can act.
    agent_sends(
        serve,
        gmail_reply(copy, "#prioridade 1", sender="Bruno <bruno@example.com>"),
        agent="bruno@example.com",
    )
    assert wait_for(
        lambda: gateway_config.cli_json("tickets", "show", ref)["priority"] == 1, 20, "priority 1"
    )


def test_take_returns_a_fresh_notification(serve: ServeProcess, sink: SmtpSink) -> None:
    _, _, notification = customer_writes(serve, sink)
    agent_sends(serve, outlook_reply(notification, "#assumir"))
    copy = mail_with_subject(sink, "ana@example.com", "Chamado (cópia pedida)")
    assert "Conversa até agora" in copy.text


def test_a_reply_to_a_note_stays_internal_and_its_mail_says_where_to_answer(
    serve: ServeProcess, sink: SmtpSink
) -> None:
    ref, _, notification = customer_writes(serve, sink)
    agent_sends(serve, outlook_reply(notification, "#nota\n\nCliente VIP, cuidado."))
    note = mail_with_subject(sink, "carlos@example.com", "Nota interna")
    assert re.fullmatch(NOTE, note.header("Reply-To"))
    assert "Responder a este e-mail cria uma NOTA INTERNA" in note.text
    public = re.search(rf"Para responder ao cliente, escreva para: ({AGENT})", note.text)
    assert public, note.text
    assert ref in note.header("Subject")
