"""A ticket travels between teams by mail (issue 10), end to end through real SMTP.

Front desk (n1: Ana, Carlos) hands to level 2 (n2: Bruno); each hand-off's
mail is checked as the agent receives it, and each agent acts only through
the addresses signed for them in that mail.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

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


def mail_with_subject(sink: SmtpSink, address: str, start: str, seen: int = 0) -> SunkMail:
    """The newest such mail, once there are more than `seen` of them."""

    def found() -> SunkMail | None:
        hits = [m for m in sink.to(address) if start in m.header("Subject")]
        return hits[-1] if len(hits) > seen else None

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


TIERS = """\
queues:
  - {id: fd, name: "Recepção"}
  - {id: n1, name: "Nível 1", escalates_to: n2}
  - {id: n2, name: "Nível 2", escalates_to: ka}
  - {id: ka, name: "Key account"}
agents:
  - {email: ana@example.com, name: Ana Ribeiro, queues: [fd]}
  - {email: carlos@example.com, name: Carlos Mendes, queues: [n1]}
  - {email: bruno@example.com, name: Bruno Costa, queues: [n2]}
  - {email: katia@example.com, name: Kátia Lopes, queues: [ka]}
organizations:
  - id: alfa
    name: Escola Alfa
    domains: [alfa.edu.br]
    contacts:
      - {email: maria@alfa.edu.br, name: Maria Souza, can_open_tickets: true}
"""


@pytest.fixture
def tiered(gateway_config: GatewayConfig) -> Iterator[ServeProcess]:
    """Seed 000's desk: front desk, level 1, level 2 and the key account."""
    (gateway_config.folder / "directory.yaml").write_text(TIERS, encoding="utf-8")
    process = ServeProcess(gateway_config).start()
    try:
        yield process
    finally:
        process.stop()


def test_front_desk_level_one_level_two_key_account_and_back(
    tiered: ServeProcess, sink: SmtpSink, gateway_config: GatewayConfig
) -> None:
    serve = tiered
    ref, _, notification = customer_writes(serve, sink)
    steps = [  # (who acts, through which mail, to whom it goes, with what word)
        ("ana@example.com", "carlos@example.com", "n1", "Confere a configuração da conta."),
        ("carlos@example.com", "bruno@example.com", "n2", "Parece bug no boletim."),
        ("bruno@example.com", "katia@example.com", "ka", "Corrigido; faça o teste final."),
    ]
    current = notification
    for agent, next_agent, queue, word in steps:
        raw = gmail_reply(current, f"#fila {queue}\n#nota\n\n{word}", sender=f"<{agent}>")
        agent_sends(serve, raw, agent=agent)
        current = mail_with_subject(sink, next_agent, "Chamado encaminhado à sua fila")
        assert word in current.text and "O sistema caiu hoje cedo" in current.text
        assert gateway_config.cli_json("tickets", "show", ref)["queue"] == queue
    # The key account delivers the solution to the customer (seed 000), from her hand-off mail.
    agent_sends(
        serve,
        outlook_reply(current, "#status resolvido\n\nMaria, está corrigido.",
                      sender="Kátia Lopes <katia@example.com>"),
        agent="katia@example.com",
    )  # fmt: skip
    answer = answer_to_customer(sink, ref)
    assert "Maria, está corrigido." in answer.text
    assert "Situação do chamado: resolvido" in answer.text
    # …and hands it back to level 2, which hears of it.
    handed = "Chamado encaminhado à sua fila"
    seen = len([m for m in sink.to("bruno@example.com") if handed in m.header("Subject")])
    agent_sends(
        serve,
        outlook_reply(current, "#fila n2\n#nota\n\nEntregue ao cliente.",
                      sender="Kátia Lopes <katia@example.com>"),
        agent="katia@example.com",
    )  # fmt: skip
    back = mail_with_subject(sink, "bruno@example.com", handed, seen)
    assert "Entregue ao cliente." in back.text and "Maria, está corrigido." in back.text
