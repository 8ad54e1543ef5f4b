"""Loops and floods over real SMTP (issue 12, items 1 and 2): mailbox robots against
`ticketgate serve`, the admins' one alert, the quarantine CLI, and windows that a
restart does not reset. The robots are driven by what arrives at the sink (condition
waits), never by sleeps."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest

from tests.support.agents import AGENT_AUTH, SUPPORT
from tests.support.gateway_process import GatewayConfig, ServeProcess
from tests.support.mailfiles import new_message_id, simple_mail
from tests.support.sink import SmtpSink, SunkMail

pytestmark = pytest.mark.e2e

MARIA = "Maria Souza <maria@alfa.edu.br>"
MARIA_ADDRESS = "maria@alfa.edu.br"
ADMIN = "admin@example.com"
ROUNDS = 200  # the robot's bound; the robot made 820 tickets in 60 s
SECONDS = 60.0
AFTER_HOLD = 5  # mails the robot still sends once the gateway went quiet


def outcome_of(answer: bytes) -> str:
    match = re.search(rb"OK: (\w+)", answer)
    assert match, answer
    return match.group(1).decode()


def barrier(serve: ServeProcess, sink: SmtpSink) -> None:
    """Everything queued before now has been sent once a fresh stranger's rejection
    arrives (the outbox is first in, first out; a rejection notifies no agent, so no
    robot has anything new to answer)."""
    stranger = f"barreira-{uuid.uuid4().hex[:12]}@desconhecido.example.org"
    raw = simple_mail(f"Alguém <{stranger}>", "barreira", "Oi.")
    code, answer = serve.send(raw, stranger, SUPPORT)
    assert code == 250 and outcome_of(answer) == "rejected", answer
    sink.wait_for_count(1, address=stranger, timeout=60)


def robot_answer(round_no: int, to: str = SUPPORT) -> bytes:
    """A customer-mailbox robot: no Auto-Submitted, a new subject, no In-Reply-To."""
    return simple_mail(
        MARIA,
        f"Confirmação de recebimento {round_no}",
        f"Sua mensagem foi recebida pelo sistema (protocolo {round_no:05d}).",
        to=to,
    )


@pytest.fixture
def admin_config(gateway_config: GatewayConfig) -> GatewayConfig:
    gateway_config.extra_gateway = f'admins = ["{ADMIN}"]'
    gateway_config.write()
    return gateway_config


def test_a_customer_mailbox_robot_is_stopped_held_alerted_and_released(
    admin_config: GatewayConfig, sink: SmtpSink, capsys: pytest.CaptureFixture[str]
) -> None:
    serve = ServeProcess(admin_config).start()
    try:
        start = time.monotonic()
        code, answer = serve.send(
            simple_mail(MARIA, "Sistema fora do ar", "O sistema caiu."), MARIA_ADDRESS, SUPPORT
        )
        assert code == 250 and outcome_of(answer) == "created", answer
        answered, outcomes = 0, Counter[str]()
        while answered < ROUNDS and time.monotonic() - start < SECONDS:
            # The robot answers the next gateway mail to Maria's mailbox as it arrives.
            sink.wait_for_count(answered + 1, address=MARIA_ADDRESS, timeout=30)
            answered += 1
            code, answer = serve.send(robot_answer(answered), MARIA_ADDRESS, SUPPORT)
            assert code == 250, answer
            outcomes[outcome_of(answer)] += 1
            if outcome_of(answer) == "quarantined":
                break  # the gateway said nothing back: nothing more to answer
        for n in range(AFTER_HOLD):  # a robot retrying on its own schedule
            code, answer = serve.send(robot_answer(1000 + n), MARIA_ADDRESS, SUPPORT)
            assert code == 250 and outcome_of(answer) == "quarantined", answer
        elapsed = time.monotonic() - start
        barrier(serve, sink)
        to_maria = sink.to(MARIA_ADDRESS)
        sent = [m for m in sink.mails if not m.rcpt_tos[0].startswith("barreira-")]
        tickets = admin_config.cli_json("tickets", "list")
        with capsys.disabled():
            print(f"\nloop: robot {elapsed:.0f} s, {len(sent)} mails sent, {len(tickets)} tickets")
        # The gateway stopped answering: the robot got one ack per ticket, then silence.
        assert len(to_maria) == answered == len(tickets) == 20, (answered, len(tickets))
        assert outcomes["quarantined"] == 1 and outcomes["created"] == 19
        [alert] = sink.to(ADMIN)
        assert ALERT_SUBJECT.search(alert.header("Subject")), alert.header("Subject")
        assert "maria@alfa.edu.br" in alert.text and "quarantine release" in alert.text
        assert alert.header("Auto-Submitted") == "auto-generated"

        held = admin_config.cli_json("quarantine", "list")
        assert [h["cause"] for h in held] == ["loop"] + ["cool_down"] * AFTER_HOLD
        assert {h["sender"] for h in held} == {MARIA_ADDRESS}
        assert "over sender_tickets (20 per 1h)" in held[0]["reason"]
        listing = admin_config.cli("quarantine", "list").stdout.decode()
        assert "cooling down: sender maria@alfa.edu.br until" in listing
        shown = admin_config.cli_json("quarantine", "show", str(held[-1]["id"]))
        assert "Confirmação de recebimento 1004" in shown["raw_preview"]

        # Release runs the held mail again from its raw bytes: a ticket and its ack now.
        released = admin_config.cli_json("quarantine", "release", str(held[-1]["id"]))
        assert released["outcome"] == "created" and released["ticket"], released
        sink.wait_for_count(answered + 1, address=MARIA_ADDRESS, timeout=30)
        assert f"[#{released['ticket']}]" in sink.to(MARIA_ADDRESS)[-1].header("Subject")
        again = admin_config.cli("quarantine", "release", str(held[-1]["id"]), check=False)
        assert again.returncode != 0 and b"already released" in again.stderr
        dropped = admin_config.cli_json("quarantine", "drop", str(held[-2]["id"]))
        assert dropped == {"id": held[-2]["id"], "state": "dropped"}
        released_then_dropped = admin_config.cli("quarantine", "drop", str(held[-1]["id"]),
                                                 check=False)  # fmt: skip
        assert b"already released" in released_then_dropped.stderr  # a release is not undone
        for command in ("drop", "release", "show"):
            missing = admin_config.cli("quarantine", command, "999999", check=False)
            assert missing.returncode != 0 and b"no held mail #999999" in missing.stderr
        left = admin_config.cli_json("quarantine", "list")
        assert len(left) == len(held) - 2
        everything = admin_config.cli_json("quarantine", "list", "--all")
        states = Counter(h["state"] for h in everything)
        assert states == {"held": len(held) - 2, "released": 1, "dropped": 1}
    finally:
        serve.stop()

    # A restart keeps the cool-down and the windows: the robot is still held.
    serve = ServeProcess(admin_config).start()
    try:
        code, answer = serve.send(robot_answer(2000), MARIA_ADDRESS, SUPPORT)
        assert code == 250 and outcome_of(answer) == "quarantined", answer
        barrier(serve, sink)
        assert len(sink.to(ADMIN)) == 1, "the admins are told once per cool-down"
    finally:
        serve.stop()


ALERT_SUBJECT = re.compile(r"Laço de e-mail contido: maria@alfa\.edu\.br")


def test_windows_survive_a_restart(gateway_config: GatewayConfig, sink: SmtpSink) -> None:
    gateway_config.limits = 'sender_tickets = "3 per 1h"'
    gateway_config.write()
    serve = ServeProcess(gateway_config).start()
    try:
        for n in range(3):
            raw = simple_mail(MARIA, f"Pedido {n}", f"Pedido número {n}.")
            code, answer = serve.send(raw, MARIA_ADDRESS, SUPPORT)
            assert code == 250 and outcome_of(answer) == "created", answer
    finally:
        serve.stop()
    serve = ServeProcess(gateway_config).start()
    try:
        code, answer = serve.send(
            simple_mail(MARIA, "Pedido 3", "Mais um."), MARIA_ADDRESS, SUPPORT
        )
        assert code == 250 and outcome_of(answer) == "quarantined", answer
        # Another customer is not held by Maria's window.
        raw = simple_mail("Carla Dias <carla@beta.com.br>", "Outro pedido", "Oi.")
        code, answer = serve.send(raw, "carla@beta.com.br", SUPPORT)
        assert code == 250 and outcome_of(answer) == "created", answer
    finally:
        serve.stop()
    assert len(gateway_config.cli_json("tickets", "list")) == 4


def agent_robot_answer(notification: SunkMail) -> bytes:
    """An agent mailbox's robot: answers every notification at its Reply-To, same text."""
    return (
        f"From: Ana Ribeiro <ana@example.com>\r\nTo: {notification.header('Reply-To')}\r\n"
        f"Subject: Aviso {new_message_id()}\r\nMessage-ID: {new_message_id('example.com')}\r\n"
        + AGENT_AUTH
        + "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        "Obrigada pela mensagem. Ela foi registrada e será lida em breve.\r\n"
    ).encode()


def customer_robot_answer(mail: SunkMail, n: int) -> bytes:
    return simple_mail(
        MARIA,
        f"Confirmação {n}",
        "Sua mensagem foi recebida pelo sistema.",
        to=mail.header("Reply-To") or SUPPORT,
    )


def test_robots_on_a_customer_and_an_agent_mailbox_do_not_relay_robot_mail(
    admin_config: GatewayConfig, sink: SmtpSink, capsys: pytest.CaptureFixture[str]
) -> None:
    serve = ServeProcess(admin_config).start()
    try:
        code, answer = serve.send(
            simple_mail(MARIA, "Sistema fora do ar", "O sistema caiu."), MARIA_ADDRESS, SUPPORT
        )
        assert code == 250, answer
        sink.wait_for_count(1, address="ana@example.com")
        seen_ana = seen_maria = 0
        outcomes = Counter[str]()
        for _ in range(ROUNDS):
            # Each robot answers what reached its mailbox since it last looked.
            ana = sink.to("ana@example.com")[seen_ana:]
            maria = sink.to(MARIA_ADDRESS)[seen_maria:]
            if not ana and not maria:
                break
            seen_ana += len(ana)
            seen_maria += len(maria)
            sent = [("ana@example.com", m.header("Reply-To"), agent_robot_answer(m)) for m in ana]
            sent += [
                (MARIA_ADDRESS, m.header("Reply-To") or SUPPORT, customer_robot_answer(m, n))
                for n, m in enumerate(maria, start=seen_maria)
            ]
            for who, to, raw in sent:
                code, answer = serve.send(raw, who, to)
                assert code == 250, answer
                outcomes[outcome_of(answer)] += 1
            # What those mails cause has been sent once a fresh barrier ack arrives.
            barrier(serve, sink)
        else:
            pytest.fail(f"the robots were still talking after {ROUNDS} rounds: {outcomes}")
    finally:
        serve.stop()
    relayed = [m for m in sink.mails if "registrada e será lida" in m.text]
    with capsys.disabled():
        print(f"\nloop: two robots, {len(relayed)} robot answer(s) relayed, outcomes {outcomes}")

    assert len(relayed) <= 1, f"robot mail relayed to the customer as answers: {len(relayed)}"
    assert outcomes["quarantined"] >= 1, outcomes
    assert len(sink.to(ADMIN)) == 1


def test_automatic_mail_over_a_limit_is_kept_as_suppressed_not_sent(
    gateway_config: GatewayConfig, sink: SmtpSink, tmp_path: Path
) -> None:
    gateway_config.limits = 'recipient_mails = "2 per 1h"'
    gateway_config.write()
    for n in range(3):
        mail = tmp_path / f"pedido{n}.eml"
        mail.write_bytes(simple_mail(MARIA, f"Pedido {n}", f"Pedido número {n}."))
        [line] = [
            json.loads(x)
            for x in gateway_config.cli("ingest", "--json", str(mail)).stdout.splitlines()
        ]
        assert line["outcome"] == "created", line
    flushed = gateway_config.cli("outbox", "flush").stdout.decode()
    # The third ticket's acknowledgement and its two agent notifications.
    assert '"suppressed": 3' in flushed, flushed
    assert len(sink.to(MARIA_ADDRESS)) == 2, "the third acknowledgement is not sent"
    listing = gateway_config.cli("quarantine", "list").stdout.decode()
    assert "3 automatic mail(s) over a limit kept unsent" in listing, listing
    third = gateway_config.cli_json("tickets", "show", "TG-00003")
    events = [e for e in third["events"] if e["kind"] == "mail_suppressed"]
    assert (
        sorted(e["data"]["kind"] for e in events)
        == ["acknowledgement"] + ["agent_notification"] * 2
    )
    event = events[0]
    assert "2 per 1h" in event["data"]["reason"]


@pytest.mark.parametrize(
    ("locale", "why"),
    [
        ("pt_BR", "Motivo: mais de 2 chamados abertos por maria@alfa.edu.br em 1 hora "
                  "([limits] sender_tickets)."),
        ("en", "Reason: more than 2 tickets opened by maria@alfa.edu.br in 1 hour "
               "([limits] sender_tickets)."),
    ],
)  # fmt: skip
def test_the_loop_alert_tells_the_admins_why_in_the_mails_locale(
    gateway_config: GatewayConfig, sink: SmtpSink, tmp_path: Path, locale: str, why: str
) -> None:
    gateway_config.locale = locale
    gateway_config.extra_gateway = f'admins = ["{ADMIN}"]'
    gateway_config.limits = 'sender_tickets = "2 per 1h"'
    gateway_config.write()
    outcomes = []
    for n in range(3):
        mail = tmp_path / f"pedido{n}.eml"
        mail.write_bytes(simple_mail(MARIA, f"Pedido {n}", f"Pedido número {n}."))
        out = gateway_config.cli("ingest", "--json", str(mail)).stdout
        outcomes += [json.loads(line)["outcome"] for line in out.splitlines()]
    assert outcomes == ["created", "created", "quarantined"]
    gateway_config.cli("outbox", "flush")
    [alert] = sink.to(ADMIN)
    [held] = gateway_config.cli_json("quarantine", "list")
    # The receipt keeps the gateway's English bookkeeping; the alert speaks the locale.
    assert held["reason"] == "tickets opened by maria@alfa.edu.br over sender_tickets (2 per 1h)"
    assert why in alert.text, alert.text
    assert held["reason"] not in alert.text and "over sender_tickets" not in alert.text
