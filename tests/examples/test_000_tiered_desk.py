"""examples/000-tiered-desk (seed 000, uMode) played by mail over SMTP.

The front desk receives and validates a demand and hands it to the key account, who
analyses it and sends it to level 1; level 1 finds a complex bug and escalates to level 2;
level 2 fixes it and returns it to the key account, who runs the final tests and delivers
the solution to the customer. Each hand-off's mail reaches the next team with the whole
ticket; the customer hears only the acknowledgement and the delivery.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.support.examples import Deployment

pytestmark = pytest.mark.e2e

LUANA = "Luana Reis <luana@lojasaurora.com.br>"
PAULA, KARINA = "Paula Teixeira <paula@umode.com.br>", "Karina Moura <karina@umode.com.br>"
DIEGO, SERGIO = "Diego Santos <diego@umode.com.br>", "Sérgio Prado <sergio@umode.com.br>"
HANDED = "Chamado encaminhado à sua fila"


def test_front_desk_key_account_level_one_level_two_and_delivery(
    deploy: Callable[[str], Deployment],
) -> None:
    d = deploy("000-tiered-desk")
    ref, _ = d.customer_writes(
        LUANA, "Erro no relatório de vendas", "O relatório de vendas de novembro não gera o PDF."
    )
    ack = d.mail_to("luana@lojasaurora.com.br", ref)
    assert "Recebemos sua solicitação" in ack.text and "uMode" in ack.text
    shown = d.show(ref)
    assert (shown["queue"], shown["category"]) == ("atendimento", "problem")
    # Only the front desk hears of a new demand.
    desk = d.mail_to("paula@umode.com.br", ref)
    for other in ("karina", "diego", "sergio"):
        assert d.mails_to(f"{other}@umode.com.br") == []

    # Front desk: validated (tested it), directs it to the key account (internal note).
    d.agent_replies(PAULA, desk, "#fila key_account\n#nota\n\nReproduzi: o PDF sai vazio.")
    to_ka = d.mail_to("karina@umode.com.br", HANDED)
    assert "Reproduzi: o PDF sai vazio." in to_ka.text and "não gera o PDF" in to_ka.text
    assert "Key Account" in to_ka.text
    assert d.show(ref)["queue"] == "key_account"

    # Key account: adjusts the ticket and directs it to level 1.
    d.agent_replies(
        KARINA, to_ka, "#prioridade 1\n#fila n1\n#nota\n\nAjuste de configuração?", "gmail"
    )
    to_n1 = d.mail_to("diego@umode.com.br", HANDED)
    assert "Ajuste de configuração?" in to_n1.text and "Reproduzi" in to_n1.text

    # Level 1: not a quick adjustment but a complex bug, escalated to level 2.
    d.agent_replies(DIEGO, to_n1, "#escalar\n#nota\n\nNão é configuração: bug no gerador de PDF.")
    to_n2 = d.mail_to("sergio@umode.com.br", ref)
    assert "bug no gerador de PDF" in to_n2.text
    assert d.show(ref)["queue"] == "n2"

    # Level 2 fixes, tests, releases to production and returns it for the final tests.
    d.agent_replies(
        SERGIO, to_n2, "#fila key_account\n#nota\n\nCorrigido na 3.8.2, em produção.", "gmail"
    )
    final = d.mail_to("karina@umode.com.br", HANDED, seen=1)
    assert "Corrigido na 3.8.2" in final.text and "bug no gerador de PDF" in final.text

    # The key account runs the final tests and delivers the solution to the customer.
    d.agent_replies(
        KARINA, final, "#atribuir eu\n#status resolvido\n\nLuana, o relatório voltou a gerar o PDF."
    )
    answer = d.mail_to("luana@lojasaurora.com.br", f"[#{ref}] Re:")
    assert "o relatório voltou a gerar o PDF" in answer.text
    assert "Situação do chamado: resolvido" in answer.text
    assert "Karina Moura" in answer.text and "karina@umode.com.br" not in answer.text
    # The customer heard the acknowledgement and the delivery, none of the internal hand-offs.
    heard = d.mails_to("luana@lojasaurora.com.br", ref)
    assert [m.header("Subject") for m in heard] == [ack.header("Subject"), answer.header("Subject")]
    assert not any("Reproduzi" in m.text or "3.8.2" in m.text for m in heard)

    shown = d.show(ref)
    assert shown["status"] == "resolved" and shown["queue"] == "key_account"
    assert shown["assignee"] == "karina@umode.com.br" and shown["priority"] == 1
    internal = [m["body"] for m in shown["messages"] if m["visibility"] == "internal"]
    assert len(internal) == 4 and "Corrigido na 3.8.2, em produção." in internal[-1]
