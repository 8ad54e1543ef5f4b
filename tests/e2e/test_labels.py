"""The admin's label table through `serve` and real SMTP (issue 11): an overridden status
label reaches the customer while the agents read their own status words, queue name and
"sem prazo" for a switched-off target; a broken labels.yaml stops start-up at its line
and, edited live, is refused with the admins told and the previous table kept; a
template added while serving may be named by a rule's `reply_with` without a restart."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.support.agents import (
    MARIA,
    SUPPORT,
    agent_sends,
    answer_to_customer,
    customer_writes,
    gmail_reply,
    outlook_reply,
)
from tests.support.gateway_process import GatewayConfig, ServeProcess
from tests.support.mailfiles import simple_mail
from tests.support.sink import SmtpSink
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e

LABELS = """\
pt_BR:
  status:
    waiting_customer: "aguardando sua resposta"
  agent_status:
    waiting_customer: "cliente precisa responder"
  queue:
    n1: "Atendimento Escolar"
"""
# Seed 004's kind of policy: no first-answer target for normal tickets.
POLICY = "sla:\n  targets:\n    3: {first_response: null}\n"


def save(path: Path, text: str) -> None:
    """Save the way an editor does, and make the edit look settled to the watcher."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    past = time.time() - 5
    os.utime(path, (past, past))
    os.utime(path.parent, (past, past))


@pytest.fixture
def labelled(gateway_config: GatewayConfig) -> GatewayConfig:
    gateway_config.extra_gateway = 'admins = ["admin@example.com"]'
    gateway_config.write()
    save(gateway_config.folder / "labels.yaml", LABELS)
    save(gateway_config.folder / "policy.yaml", POLICY)
    return gateway_config


def test_customers_and_agents_each_read_their_own_labels(
    labelled: GatewayConfig, sink: SmtpSink
) -> None:
    serve = ServeProcess(labelled).start()
    try:
        ref, _, notification = customer_writes(serve, sink)
        assert "Fila:           Atendimento Escolar (#fila n1)" in notification.text
        assert "1ª resposta até: sem prazo" in notification.text
        assert "Atendimento Escolar" in notification.html and "sem prazo" in notification.html

        agent_sends(
            serve,
            outlook_reply(
                notification, "#status aguardando_cliente\n\nOlá Maria, pode testar de novo?"
            ),
        )
        answer = answer_to_customer(sink, ref)
        assert "Situação do chamado: aguardando sua resposta; sem resposta até" in answer.text
        assert "aguardando sua resposta" in answer.html
        assert "aguardando o seu retorno" not in answer.text  # the built-in label is replaced

        # Another agent of the queue reads the status in the agents' own words.
        agent_sends(serve, gmail_reply(notification, "#nota\n\nCliente vai testar à tarde."))
        note = sink.wait_for_count(2, address="carlos@example.com")[-1]
        assert note.header("Subject") == f"[#{ref}] Nota interna: Sistema fora do ar"
        assert "Status:         cliente precisa responder" in note.text
        assert "cliente precisa responder" in note.html
        assert "aguardando sua resposta" not in note.text
        assert labelled.cli_json("tickets", "show", ref)["status"] == "waiting_customer"
    finally:
        serve.stop()


def test_a_broken_labels_file_stops_serve_at_its_line(labelled: GatewayConfig) -> None:
    labels = labelled.folder / "labels.yaml"
    save(labels, LABELS.replace("  queue:\n    n1:", "  queue:\n    n9:"))
    result = labelled.cli("serve", check=False)
    stderr = result.stderr.decode()
    assert result.returncode == 2, stderr
    assert f"{labels}:7:5: unknown queue 'n9' (known: n1, n2)" in stderr
    assert "Fix the file(s) above" in stderr
    check = labelled.cli("rules", "check", check=False)
    assert check.returncode == 1
    assert f"{labels}:7:5: unknown queue 'n9'" in check.stderr.decode()


def test_a_broken_live_edit_is_refused_and_the_previous_labels_stay(
    labelled: GatewayConfig, sink: SmtpSink
) -> None:
    labels = labelled.folder / "labels.yaml"
    serve = ServeProcess(labelled).start()
    try:
        save(labels, LABELS + "  category:\n    question: [dúvida, pergunta]\n")
        [alert] = sink.wait_for_count(1, address="admin@example.com")
        assert f"{labels}:9:5: the label of category 'question' must be text" in alert.text
        assert "labels.yaml edit refused, the previous version stays active" in serve.log()
        ref, _, notification = customer_writes(serve, sink)
        assert "Atendimento Escolar (#fila n1)" in notification.text  # the old table

        save(labels, LABELS.replace("Atendimento Escolar", "Secretaria Digital"))
        wait_for(lambda: "labels.yaml reloaded" in serve.log(), 20, "labels.yaml to reload")
        _, _, later = customer_writes(serve, sink, subject="Boletim não abre")
        assert "Fila:           Secretaria Digital (#fila n1)" in later.text
        assert len(sink.to("admin@example.com")) == 1
        assert ref
    finally:
        serve.stop()


def test_a_template_added_while_serving_may_be_named_by_reply_with(
    labelled: GatewayConfig, sink: SmtpSink
) -> None:
    """The templates `reply_with` may name are re-read when the rules reload, not kept
    from start-up: a new own template and the rule that sends it work without a restart."""
    serve = ServeProcess(labelled).start()
    try:
        rule = (
            "- name: Dúvida recebe artigos\n"
            "  when:\n"
            "    any:\n"
            "      - subject: {regex: 'd[uú]vida'}\n"
            "  then:\n"
            "    category: question\n"
            "    reply_with: artigos\n"
        )
        # The rule names a template that is not there yet: refused, the admins told.
        save(labelled.folder / "rules" / "10-duvidas.yaml", rule)
        [alert] = sink.wait_for_count(1, address="admin@example.com")
        assert "10-duvidas.yaml:" in alert.text and "artigos" in alert.text
        # The template arrives: the rules are checked again, with the templates there now.
        folder = labelled.folder / "templates" / "pt_BR"
        save(folder / "artigos.subject.j2", "Artigos sobre: {{ ticket.subject }}")
        save(folder / "artigos.txt.j2", "Veja https://ajuda.example.com ({{ ticket.ref }})\n")
        wait_for(lambda: "rules reloaded" in serve.log(), 20, "the rules to reload")
        code, answer = serve.send(
            simple_mail(MARIA, "Dúvida sobre o boletim", "Como emito?"),
            "maria@alfa.edu.br",
            SUPPORT,
        )
        assert code == 250 and b"created" in answer, answer
        ref = answer.decode().rsplit(" ", 1)[1]
        [articles] = sink.wait_for_count(1, address="maria@alfa.edu.br")
        assert articles.header("Subject") == f"[#{ref}] Artigos sobre: Dúvida sobre o boletim"
        assert f"Veja https://ajuda.example.com ({ref})" in articles.text
    finally:
        serve.stop()


def test_an_english_gateway_uses_the_english_labels_and_is_not_held_to_portuguese(
    gateway_config: GatewayConfig, sink: SmtpSink
) -> None:
    """The suite's English-words check follows the config's locale: an `en` gateway's
    mail says "Priority" and passes; its labels come from the file's `en` table."""
    gateway_config.locale = "en"
    gateway_config.write()
    save(gateway_config.folder / "labels.yaml", "en:\n  priority: {3: routine}\n")
    save(gateway_config.folder / "policy.yaml", POLICY)
    serve = ServeProcess(gateway_config).start()
    try:
        ref, _, notification = customer_writes(serve, sink)
        [ack] = sink.wait_for_count(1, address="maria@alfa.edu.br")
        assert f"[#{ref}]" in ack.header("Subject")
        assert "Priority: 3 (routine)" in ack.text
        assert "First answer by: no target" in notification.text
        assert "Status:         new" in notification.text
        assert sink.locale() == "en" and ack.english()  # English, as configured
    finally:
        serve.stop()
