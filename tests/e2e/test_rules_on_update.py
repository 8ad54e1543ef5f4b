"""Agents' decisions stand (issue 10): a rule's `on:` and the fields an agent set, end to end
through a real `serve` over SMTP, plus `rules test --as update` and `--replay`.

The agent answers from Outlook, to the signed Reply-To of the notification; the customer
answers the agent's reply the same way, to the address it came with.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.gateway_process import GatewayConfig, ServeProcess
from tests.support.mailfiles import new_message_id, simple_mail
from tests.support.sink import SmtpSink, SunkMail
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e

MARIA = "Maria Souza <maria@alfa.edu.br>"
SUPPORT = "suporte@example.com"
# What our border MTA (the trusted authserv-id in the test config) writes for agents' mail.
AGENT_AUTH = (
    "Authentication-Results: mx.example.com; dkim=pass header.d=example.com;"
    " dmarc=pass header.from=example.com\r\n"
)
URGENT = """\
- name: Urgente é crítico
  on: [new, update]
  when: {subject: {contains: urgente}}
  then: {priority: 0}
"""
NEW_AND_UPDATE_RULES = """\
- name: Triagem de chamado novo
  when: {subject: {contains: boleto}}
  then: {priority: 1, tags: [boletos]}
- name: Resposta com erro vai ao nível 2
  on: [update]
  when: {body: {contains: erro}}
  then: {queue: n2}
"""


def write_rules(config: GatewayConfig, text: str) -> None:
    folder = config.folder / "rules"
    folder.mkdir(exist_ok=True)
    (folder / "10-urgencia.yaml").write_text(text, encoding="utf-8")


def outlook_reply(mail: SunkMail, top: str, sender: str, extra: str = "") -> bytes:
    """Outlook desktop, pt-BR: text on top, to the mail's Reply-To, the mail quoted below."""
    quoted = mail.text.replace("\n", "\r\n")
    body = (
        top.replace("\n", "\r\n") + "\r\n\r\n________________________________\r\n"
        f"De: {mail.header('From')}\r\nEnviado: segunda-feira, 23 de novembro de 2026 10:20\r\n"
        f"Assunto: {mail.header('Subject')}\r\n\r\n" + quoted
    )
    return (
        f"From: {sender}\r\nTo: {mail.header('Reply-To')}\r\n"
        f"Subject: RE: {mail.header('Subject')}\r\n"
        f"Message-ID: {new_message_id(sender.rpartition('@')[2].rstrip('>'))}\r\n"
        f"In-Reply-To: {mail.header('Message-ID')}\r\n"
        f"References: {mail.header('Message-ID')}\r\n"
        "X-Mailer: Microsoft Outlook 16.0\r\n" + extra + "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        + body
    ).encode("utf-8")


def send(serve: ServeProcess, raw: bytes, sender: str, to: str) -> str:
    code, answer = serve.send(raw, sender, to)
    assert code == 250, answer
    return answer.decode()


def test_a_customer_reply_matching_a_rule_does_not_undo_the_agents_priority(
    gateway_config: GatewayConfig, sink: SmtpSink
) -> None:
    write_rules(gateway_config, URGENT)
    serve = ServeProcess(gateway_config).start()
    try:
        answer = send(
            serve,
            simple_mail(MARIA, "Urgente: boletos não saem", "Nenhum boleto sai desde cedo."),
            "maria@alfa.edu.br",
            SUPPORT,
        )
        assert "created" in answer
        ref = answer.rsplit(" ", 1)[1]
        assert gateway_config.cli_json("tickets", "show", ref)["priority"] == 0

        # Ana lowers the priority from her mail client, answering Maria at the same time.
        [notification] = sink.wait_for_count(1, address="ana@example.com")
        agent_mail = outlook_reply(
            notification,
            "#prioridade 2\n\nOlá Maria, é um atraso no banco; os boletos saem até amanhã.",
            "Ana Ribeiro <ana@example.com>",
            extra=AGENT_AUTH,
        )
        assert f"threaded {ref}" in send(
            serve, agent_mail, "ana@example.com", notification.header("Reply-To")
        )
        assert gateway_config.cli_json("tickets", "show", ref)["priority"] == 2

        # Maria answers Ana's reply with "urgente" in the subject: the rule matches the update,
        # and still Ana's priority stands.
        reply = wait_for(
            lambda: next(
                (m for m in sink.to("maria@alfa.edu.br")
                 if m.header("Subject").startswith(f"[#{ref}] Re:")),
                None,
            ),
            20,
            "Ana's answer to reach Maria",
        )  # fmt: skip
        customer_mail = outlook_reply(reply, "Ainda é urgente: a secretaria fecha hoje.", MARIA)
        assert b"Subject: RE: [#" + ref.encode() + b"] Re: Urgente: boletos" in customer_mail
        assert f"threaded {ref}" in send(
            serve, customer_mail, "maria@alfa.edu.br", reply.header("Reply-To")
        )
    finally:
        serve.stop()

    shown = gateway_config.cli_json("tickets", "show", ref)
    assert shown["priority"] == 2
    [skip] = [e for e in shown["events"] if e["kind"] == "rule_skipped"]
    assert skip["actor"] == "rule:Urgente é crítico"
    assert skip["data"] == {
        "field": "priority",
        "rule": "Urgente é crítico",
        "wanted": 0,
        "kept": 2,
        "set_by": "ana@example.com",
    }
    audits = [e for e in shown["events"] if e["kind"] == "triaged_by_rules"]
    assert len(audits) == 2, "the rule ran on the new mail and on Maria's update"
    by_rules = [e for e in shown["events"] if e["kind"] == "field_changed" and
                e["actor"].startswith("rule:")]  # fmt: skip
    assert by_rules == []


def test_rules_test_and_replay_run_each_rule_only_on_the_mail_its_on_names(
    gateway_config: GatewayConfig, tmp_path: Path
) -> None:
    write_rules(gateway_config, NEW_AND_UPDATE_RULES)
    mail = tmp_path / "boleto.eml"
    mail.write_bytes(simple_mail(MARIA, "[#TG-00001] boleto com erro", "Deu erro de novo."))

    shown = json.loads(gateway_config.cli("rules", "test", str(mail), "--json").stdout)
    assert shown["treated_as"] == "update"  # it names a ticket
    assert [m["name"] for m in shown["matches"]] == ["Resposta com erro vai ao nível 2"]
    assert shown["triage"]["queue"] == "n2" and shown["triage"]["priority"] == 3
    assert shown["not_run"] == [
        {"file": "10-urgencia.yaml", "line": 1, "name": "Triagem de chamado novo", "on": ["new"]}
    ]
    text = gateway_config.cli("rules", "test", str(mail), "--as", "update").stdout.decode()
    assert "1. 10-urgencia.yaml:4: Resposta com erro vai ao nível 2" in text
    assert "not run: 10-urgencia.yaml:1: Triagem de chamado novo matches, but runs on: new" in text
    as_new = json.loads(
        gateway_config.cli("rules", "test", str(mail), "--as", "new", "--json").stdout
    )
    assert [m["name"] for m in as_new["matches"]] == ["Triagem de chamado novo"]
    assert as_new["not_run"][0]["on"] == ["update"]

    # Replay: the mail that opened the ticket as new, the reply as an update.
    opening = tmp_path / "novo.eml"
    opening.write_bytes(simple_mail(MARIA, "Boleto não sai", "O boleto não é gerado."))
    gateway_config.cli("ingest", str(opening))
    gateway_config.cli("ingest", str(mail))
    replayed = json.loads(gateway_config.cli("rules", "test", "--replay", "5", "--json").stdout)
    seen = {(r["outcome"], r["treated_as"], tuple(r["rules"])) for r in replayed}
    assert seen == {
        ("created", "new", ("Triagem de chamado novo",)),
        ("threaded", "update", ("Resposta com erro vai ao nível 2",)),
    }
