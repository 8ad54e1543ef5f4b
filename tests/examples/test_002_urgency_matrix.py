"""examples/002-urgency-matrix (seed 002, Consistem) played by mail over SMTP.

Three customers write: the rules set urgency 0, 2 and 3 from the seed's definitions and
the work queue puts the most urgent first. The critical ticket waits for the customer's
evidence: 5 business days without an answer resolve it, 5 more close it (time travel),
and the customer answers the two-question survey. The medium one is handed from Suporte
to Manutenção, which the customer is told in the answer; Manutenção resolves it and the
customer's approval closes it at once, with its survey.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from gateway.config.policy_file import load_policy
from tests.support.examples import Deployment

pytestmark = pytest.mark.e2e

CARLA, JOEL = "Carla Dias <carla@metalvale.com.br>", "Joel Batista <joel@metalvale.com.br>"
INES = "Inês Rocha <ines@textilnorte.com.br>"
FERNANDA, GUSTAVO = "Fernanda Kuhn <fernanda@consistem.com.br>", "<gustavo@consistem.com.br>"
HELENA = "Helena Schmitt <helena@consistem.com.br>"
SURVEY = "Pesquisa de satisfação"


def test_urgency_queue_waiting_resolved_closed_survey_and_maintenance(
    deploy: Callable[[str], Deployment],
) -> None:
    d = deploy("002-urgency-matrix")
    calendar = load_policy(d.config.folder / "policy.yaml", ZoneInfo("America/Sao_Paulo")).calendar

    normal, _ = d.customer_writes(
        INES, "Dúvida: como emito o relatório de comissões?", "Onde fica esse relatório?"
    )
    medium, _ = d.customer_writes(
        JOEL,
        "Lentidão no módulo de compras",
        "As telas de compras demoram minutos. Por enquanto estamos usando o contorno de "
        "exportar a planilha.",
    )
    critical, _ = d.customer_writes(
        CARLA, "Faturamento parado", "Não conseguimos faturar desde as 8h: a nota não é emitida."
    )
    urgency = {ref: d.show(ref)["priority"] for ref in (normal, medium, critical)}
    assert urgency == {normal: 3, medium: 2, critical: 0}
    # The work queue: the most urgent (and then the oldest) first.
    queue = [t["ref"] for t in d.config.cli_json("tickets", "list")]
    assert [r for r in queue if r in urgency] == [critical, medium, normal]

    # Suporte asks the customer for evidence: "Aguardando retorno do cliente".
    ask = d.mail_to("fernanda@consistem.com.br", critical)
    d.agent_replies(
        FERNANDA,
        ask,
        "#atribuir eu\n#status aguardando_cliente\n\nCarla, envie o print do erro da nota.",
    )
    answer = d.mail_to("carla@metalvale.com.br", f"[#{critical}] Re:")
    assert "envie o print do erro" in answer.text
    # In the seed's own words (examples/002-urgency-matrix/labels.yaml).
    assert "aguardando retorno do cliente" in answer.text and "considerado resolvido" in answer.text
    assert d.show(critical)["status"] == "waiting_customer"

    # No answer in 5 business days: resolved, and 5 more business days to approve or deny.
    resolve_at = d.timer(critical, "auto_resolve")
    waiting_since = datetime.fromisoformat(d.show(critical)["updated_at"])
    assert datetime.fromisoformat(resolve_at) >= calendar.add_days(waiting_since, 5)
    assert d.run_once(resolve_at)["auto_resolved"] == 1
    d.flush(resolve_at)
    resolved = d.mail_to("carla@metalvale.com.br", "resolvido por falta de retorno")
    assert critical in resolved.header("Subject")
    close_at = d.timer(critical, "auto_close")
    assert datetime.fromisoformat(close_at) == calendar.add_days(
        datetime.fromisoformat(resolve_at), 5
    )
    assert d.run_once(close_at)["auto_closed"] == 1
    d.flush(close_at)
    d.mail_to("carla@metalvale.com.br", f"Chamado {critical} fechado")
    survey = d.mail_to("carla@metalvale.com.br", SURVEY)
    assert critical in survey.header("Subject")
    assert "avalia o atendimento prestado pelo(a) analista" in survey.text
    assert "nosso suporte atendeu a sua expectativa" in survey.text
    # The customer answers both questions by replying, with a comment.
    d.customer_replies(CARLA, survey, "1: 4, 2: sim, a Fernanda foi atenciosa", outcome="")
    shown = d.show(critical)
    assert shown["status"] == "closed"
    answered = [e["data"] for e in shown["events"] if e["kind"] == "survey_answered"]
    assert answered, shown["events"]

    # Medium: Suporte confirms a problem in the system and hands it to Manutenção, in the
    # answer the customer reads.
    seen = d.mail_to("gustavo@consistem.com.br", medium)
    d.agent_replies(
        GUSTAVO, seen,
        "#fila manutencao\n\nJoel, confirmamos um problema no módulo de compras;"
        " a correção fica com o time de Manutenção.",
        "gmail",
    )  # fmt: skip
    told = d.mail_to("joel@metalvale.com.br", f"[#{medium}] Re:")
    assert "Equipe responsável pelo chamado: Manutenção" in told.text
    handed = d.mail_to("helena@consistem.com.br", "Chamado encaminhado à sua fila")
    assert "demoram minutos" in handed.text
    d.agent_replies(
        HELENA, handed, "#status resolvido\n\nJoel, corrigido na versão 24.11.3. Pode conferir?"
    )
    solution = d.mail_to("joel@metalvale.com.br", f"[#{medium}] Re:", seen=1)
    assert "versão 24.11.3" in solution.text and "Situação do chamado: resolvido" in solution.text
    # Approval closes at once, with its survey.
    d.customer_replies(JOEL, solution, "Aprovado, pode encerrar. Obrigado!")
    d.mail_to("joel@metalvale.com.br", f"Chamado {medium} fechado")
    d.mail_to("joel@metalvale.com.br", SURVEY)
    final = d.show(medium)
    assert (final["status"], final["queue"]) == ("closed", "manutencao")
    assert d.show(normal)["status"] == "new"
    report = d.config.cli_json("report", "surveys")
    agents = {line["key"]: line for line in report if line["group"] == "agent"}
    assert agents["fernanda@consistem.com.br"]["answered"] == 1
    assert agents["fernanda@consistem.com.br"]["average_rating"] == 4
