"""Postfix in front, for real: the support domain's MX hands mail to `serve`.

Debian's Postfix runs on loopback with its own config and queue folder; its
transport map routes the support domain to ticketgate's SMTP port. Mail
submitted to Postfix becomes tickets; while the gateway is down, or answers
451 because its raw store fails, Postfix keeps the mail in its deferred queue
and delivers it once the gateway is back — nothing lost, nothing doubled.
"""

from __future__ import annotations

import shutil
import smtplib
from collections.abc import Iterator

import pytest

from tests.support.gateway_process import GatewayConfig, ServeProcess
from tests.support.mailfiles import simple_mail
from tests.support.postfix import PostfixInstance
from tests.support.sink import SmtpSink
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture
def postfix(gateway_config: GatewayConfig) -> Iterator[PostfixInstance]:
    mx = PostfixInstance({"example.com": f"smtp:[127.0.0.1]:{gateway_config.smtp_port}"})
    mx.start()
    try:
        yield mx
    finally:
        mx.stop()


def submit(mx: PostfixInstance, n: int, tag: str) -> None:
    """A customer's mail server hands one mail to the support domain's MX."""
    mail = simple_mail(
        "Maria Souza <maria@alfa.edu.br>",
        f"{tag} {n}",
        f"Pedido {tag} número {n}.",
        message_id=f"<{tag}-{n}@alfa.edu.br>",
    )
    with smtplib.SMTP("127.0.0.1", mx.port, timeout=30) as client:
        client.sendmail("maria@alfa.edu.br", ["suporte@example.com"], mail)


def subjects(config: GatewayConfig) -> list[str]:
    return sorted(t["subject"] for t in config.cli_json("tickets", "list"))


def test_mail_through_postfix_becomes_tickets(
    gateway_config: GatewayConfig, postfix: PostfixInstance, sink: SmtpSink
) -> None:
    serve = ServeProcess(gateway_config).start()
    try:
        for n in range(5):
            submit(postfix, n, "mx")
        wanted = [f"mx {n}" for n in range(5)]
        wait_for(lambda: subjects(gateway_config) == wanted, 60, "five tickets via Postfix")
        wait_for(lambda: not postfix.queued(), 30, "Postfix to hand everything over")

        acks = sink.wait_for_count(5, 30, address="maria@alfa.edu.br")
        about = sorted(m.header("Subject").rsplit(": ", 1)[-1] for m in acks)
        assert about == wanted
    finally:
        serve.stop()


def test_postfix_keeps_mail_while_the_gateway_is_down_and_delivers_it_after(
    gateway_config: GatewayConfig, postfix: PostfixInstance
) -> None:
    for n in range(3):
        submit(postfix, n, "down")
    reasons = wait_for(lambda: len(postfix.deferred()) == 3 and postfix.deferred(), 30, "deferrals")
    assert all("Connection refused" in str(reason) for reason in reasons), reasons
    serve = ServeProcess(gateway_config).start()
    try:
        postfix.flush()
        want = ["down 0", "down 1", "down 2"]
        wait_for(lambda: subjects(gateway_config) == want, 60, "the held mail as tickets")
        wait_for(lambda: not postfix.queued(), 30, "an empty Postfix queue")
    finally:
        serve.stop()


def test_a_451_from_the_gateway_makes_postfix_retry_without_loss(
    gateway_config: GatewayConfig, postfix: PostfixInstance
) -> None:
    serve = ServeProcess(gateway_config).start()
    blobs = gateway_config.folder / "data" / "blobs"
    try:
        # The raw store fails (here: its folder is a file), so the gateway cannot keep the
        # mail and answers 451; Postfix must hold it rather than bounce it.
        shutil.rmtree(blobs, ignore_errors=True)
        blobs.parent.mkdir(parents=True, exist_ok=True)
        blobs.write_text("not a folder")
        submit(postfix, 1, "busy")
        reasons = wait_for(postfix.deferred, 30, "a deferral after 451")
        assert "451" in reasons[0], reasons
        assert subjects(gateway_config) == []
        blobs.unlink()
        postfix.flush()
        wait_for(lambda: subjects(gateway_config) == ["busy 1"], 60, "the retried mail")
        wait_for(lambda: not postfix.queued(), 30, "an empty Postfix queue")
        assert len(gateway_config.cli_json("tickets", "list")) == 1
    finally:
        serve.stop()
