"""examples/003-consultancy (seed 003, Tecnospeed) played by mail over SMTP.

A problem without its environment is asked "Produção ou Homologação?" instead of the
plain acknowledgement, and the customer's answer is recorded on the ticket; a question
gets help articles; a problem that names its environment is recorded at once. The first
answer is due 3 business days after the ticket is registered. The consultant hands the
problem to the product owner, who states the deadline; "Pendente" for 10 days with no
word from the customer resolves it. Every answer reaches the requester by mail.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gateway.config.policy_file import load_policy
from tests.support.examples import Deployment

pytestmark = pytest.mark.e2e

RODRIGO = "Rodrigo Farias <rodrigo@softhousesul.com.br>"
ALINE = "Aline Prates <aline@softhousesul.com.br>"
BIANCA, PATRICIA = "Bianca Alves <bianca@tecnospeed.com.br>", "<patricia@tecnospeed.com.br>"
SP = ZoneInfo("America/Sao_Paulo")


def test_question_or_problem_environment_first_answer_po_deadline_and_pending(
    deploy: Callable[[str], Deployment],
) -> None:
    d = deploy("003-consultancy")
    calendar = load_policy(d.config.folder / "policy.yaml", SP).calendar
    rodrigo = "rodrigo@softhousesul.com.br"

    # A problem, environment not said: the customer is asked which one.
    ref, _ = d.customer_writes(
        RODRIGO, "Erro na emissão de NF-e", "A nota é rejeitada com o código 539 ao transmitir."
    )
    asked = d.mail_to(rodrigo, "em qual ambiente acontece?")
    assert ref in asked.header("Subject") and "PRODUÇÃO ou em" in asked.text
    assert d.mails_to(rodrigo, "Recebemos") == [] and len(d.sink.to(rodrigo)) == 1
    shown = d.show(ref)
    assert shown["category"] == "problem"  # environment: the default until the customer says
    created = datetime.fromisoformat(shown["created_at"])
    due = datetime.fromisoformat(shown["first_response_due"])
    assert due == calendar.add_days(created, 3) and shown["resolution_due"] is None
    # The customer answers; the environment is recorded (a rule on update).
    d.customer_replies(RODRIGO, asked, "Acontece em homologação. O documento é a NF-e 1234.")
    assert d.show(ref)["environment"] == "staging"

    # First level hands it to the product owner for a re-evaluation (internal).
    seen = d.mail_to("bianca@tecnospeed.com.br", ref)
    d.agent_replies(BIANCA, seen, "#fila po\n#nota\n\nReavaliar: parece bug na montagem do XML.")
    handed = d.mail_to("patricia@tecnospeed.com.br", "Chamado encaminhado à sua fila")
    assert "montagem do XML" in handed.text and "Homologação" in handed.text
    # The P.O. evaluates with a developer and states the deadline for the solution.
    deadline = calendar.add_days(created, 8).strftime("%d/%m/%Y")
    d.agent_replies(
        PATRICIA, handed,
        f"#atribuir eu\n#prazo {deadline}\n\nRodrigo, avaliamos com o desenvolvimento:"
        " a correção sai na próxima versão.",
        "gmail",
    )  # fmt: skip
    first = d.mail_to(rodrigo, f"[#{ref}] Re:")
    assert "a correção sai na próxima versão" in first.text
    assert f"Prazo combinado para a solução: {deadline} 18:00" in first.text
    assert datetime.fromisoformat(d.show(ref)["due_at"]).strftime("%d/%m/%Y") == deadline

    # The fix ships: "Pendente" while the customer checks it.
    d.agent_replies(
        PATRICIA, handed, "#status aguardando_cliente\n\nPublicamos a versão 9.1.4; pode validar?"
    )
    second = d.mail_to(rodrigo, f"[#{ref}] Re:", seen=1)
    assert "versão 9.1.4" in second.text and "pendente" in second.text  # labels.yaml's word
    assert "aguardando o seu retorno" not in second.text
    pending_since = datetime.fromisoformat(d.show(ref)["updated_at"])
    # 10 calendar days without a word from the customer: resolved.
    resolve_at = d.timer(ref, "auto_resolve")
    waited = datetime.fromisoformat(resolve_at) - pending_since
    assert timedelta(days=9, hours=23) <= waited <= timedelta(days=10, hours=1)
    assert d.run_once(resolve_at)["auto_resolved"] == 1
    d.flush(resolve_at)
    d.mail_to(rodrigo, "resolvido por falta de retorno")
    final = d.show(ref)
    assert (final["status"], final["environment"], final["queue"]) == (
        "resolved", "staging", "po"
    )  # fmt: skip
    # Every public answer went to the requester.
    public = [m for m in final["messages"] if m["direction"] == "outbound"]
    assert all(rodrigo in m["recipients"] for m in public)

    # A question gets help articles instead of the plain acknowledgement.
    question, _ = d.customer_writes(
        ALINE, "Dúvida: como configuro o webhook de retorno?", "Onde cadastro a URL?"
    )
    articles = d.mail_to("aline@softhousesul.com.br", "artigos que podem ajudar")
    assert question in articles.header("Subject") and "base de conhecimento" in articles.text
    assert d.show(question)["category"] == "question"
    # A problem that names its environment is recorded at once, with the plain acknowledgement.
    staging, _ = d.customer_writes(
        ALINE, "Boleto não é registrado", "Em homologação o boleto volta com erro de registro."
    )
    ack = d.mail_to("aline@softhousesul.com.br", staging)
    assert "Recebemos sua solicitação" in ack.text
    assert (d.show(staging)["category"], d.show(staging)["environment"]) == ("problem", "staging")
