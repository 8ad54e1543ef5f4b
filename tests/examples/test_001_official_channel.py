"""examples/001-official-channel (seed 001, Unimestre) played by mail over SMTP.

A key user opens a question with a colleague without permission on CC: the colleague
receives nothing, and is politely refused when he writes. The ticket is classified,
due for a first look within 1 business hour, and the attendant states its deadline
(`#prazo`) in the answer. An admin change is refused from a key user's mailbox and taken
from the direction's, routed to the customer-relations lead and never applied. The key
user renegotiates: one level up (the area lead), and not a second level the same day.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from gateway.config.policy_file import load_policy
from tests.support.examples import Deployment

pytestmark = pytest.mark.e2e

MARTA, JORGE = "Marta Lins <marta@horizonte.edu.br>", "Jorge Menezes <jorge@horizonte.edu.br>"
DIRECAO = "Direção Faculdade Horizonte <direcao@horizonte.edu.br>"
LUCIA = "Lúcia Andrade <lucia@unimestre.com>"
ADMIN_CHANGE = "Alteração de administrador da Área de Clientes"
ADMIN_BODY = "Novo administrador: Ana Prado, CPF 123.456.789-00, ana.prado@horizonte.edu.br."


def test_key_users_colleagues_direction_deadline_and_renegotiation(
    deploy: Callable[[str], Deployment],
) -> None:
    d = deploy("001-official-channel")
    policy = load_policy(Path(d.config.folder) / "policy.yaml", ZoneInfo("America/Sao_Paulo"))

    # A key user opens a question, CC'ing a colleague without UniSAC permission.
    ref, _ = d.customer_writes(
        MARTA,
        "Dúvida: como emito o histórico escolar?",
        "Bom dia, como emito o histórico escolar de um aluno transferido?",
        extra=f"Cc: {JORGE}\r\n",
    )
    ack = d.mail_to("marta@horizonte.edu.br", ref)
    assert "Dúvida" in ack.text and "Primeira resposta prevista até" in ack.text
    shown = d.show(ref)
    assert (shown["category"], shown["priority"], shown["queue"]) == ("question", 3, "n1")
    created = datetime.fromisoformat(shown["created_at"])
    first_look = policy.calendar.add(created, timedelta(hours=1))
    assert datetime.fromisoformat(shown["first_response_due"]) == first_look
    dropped = [e["data"] for e in shown["events"] if e["kind"] == "recipients_dropped"]
    assert dropped and "jorge@horizonte.edu.br" in str(dropped)

    # The attendant answers within the first look and states the deadline on the ticket.
    deadline = policy.calendar.add_days(created, 3).strftime("%d/%m/%Y")
    notification = d.mail_to("lucia@unimestre.com", ref)
    d.agent_replies(
        LUCIA, notification,
        f"#atribuir eu\n#prazo {deadline}\n\nMarta, o histórico sai pelo menu Secretaria.",
    )  # fmt: skip
    answer = d.mail_to("marta@horizonte.edu.br", f"[#{ref}] Re:")
    assert "menu Secretaria." in answer.text
    assert f"Prazo combinado para a solução: {deadline} 18:00" in answer.text
    assert d.show(ref)["due_at"].startswith(
        datetime.strptime(deadline, "%d/%m/%Y").date().isoformat()
    )

    # The colleague writes in himself: politely refused, with the institution's own words.
    d.customer_writes(
        JORGE, "Histórico escolar", "Também preciso do histórico.", outcome="rejected"
    )
    [refusal] = d.sink.wait_for_count(1, address="jorge@horizonte.edu.br")
    assert "contato autorizado" in refusal.text and "usuários-chave" in refusal.text
    assert ref not in refusal.text and "histórico" not in refusal.text.lower()

    # An admin change from a key user's mailbox is refused with the rule's own words.
    d.customer_writes(MARTA, ADMIN_CHANGE, ADMIN_BODY, outcome="rejected")
    refused = d.mail_to("marta@horizonte.edu.br", "alteração de administrador não registrado")
    assert "caixa postal da direção" in refused.text and "CPF" in refused.text
    # From the direction's mailbox it is taken, routed to the customer-relations lead, not applied.
    admin_ref, _ = d.customer_writes(DIRECAO, ADMIN_CHANGE, ADMIN_BODY)
    received = d.mail_to(
        "direcao@horizonte.edu.br", "Pedido de alteração de administrador recebido"
    )
    assert admin_ref in received.header("Subject")
    assert "não é feita automaticamente" in received.text
    routed = d.mail_to("thiago@unimestre.com", admin_ref)
    assert "Ana Prado" in routed.text
    admin = d.show(admin_ref)
    assert admin["queue"] == "lideranca_clientes" and "alteracao-administrador" in admin["tags"]
    assert admin["status"] == "new" and admin["category"] == "service_request"
    assert d.mails_to("lucia@unimestre.com", admin_ref) == []

    # Renegotiation, step 2: the key user asks the area lead (one level up the chain).
    d.customer_replies(MARTA, answer, "Precisamos negociar o prazo: a formatura é amanhã.")
    told = d.mail_to("marta@horizonte.edu.br", "escalonamento registrado")
    assert "Gerência de Atendimento (Ricardo Pasta)" in told.text
    lead = d.mail_to("ricardo@unimestre.com", ref)
    assert "a formatura é amanhã" in lead.text
    assert d.show(ref)["queue"] == "lideranca_atendimento"
    # Step 3 only when step 2 did not solve it: the same day, the Direction is not bothered.
    d.customer_replies(MARTA, answer, "Quero escalar de novo, falar com a liderança acima.")
    d.mail_to("marta@horizonte.edu.br", "escalonamento já solicitado")
    assert d.mails_to("claudionor@unimestre.com") == []

    # Only the key user ever got this ticket's mail; the colleague got the refusal alone.
    assert len(d.sink.to("jorge@horizonte.edu.br")) == 1
    final = d.show(ref)
    assert final["queue"] == "lideranca_atendimento" and final["status"] == "open"
    kinds = [e["kind"] for e in final["events"]]
    assert "customer_escalated" in kinds and "customer_escalation_refused" in kinds
