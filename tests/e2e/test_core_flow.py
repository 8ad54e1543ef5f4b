"""End to end through real sockets: `ticketgate serve` as a subprocess, mail sent
with smtplib, gateway mail captured at a real SMTP sink acting as the relay."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.gateway_process import GatewayConfig, ServeProcess
from tests.support.mailfiles import FIXTURES, fixture, new_message_id, set_headers, simple_mail
from tests.support.sink import SmtpSink, SunkMail

pytestmark = pytest.mark.e2e

MARIA = "Maria Souza <maria@alfa.edu.br>"
SUPPORT = "suporte@example.com"
REPLIES = sorted((FIXTURES / "replies").glob("*.eml"))


def open_ticket(
    serve: ServeProcess, sink: SmtpSink, subject: str = "Sistema fora do ar"
) -> tuple[str, bytes, SunkMail]:
    """Maria writes in; returns the ticket ref, her mail and the ack she got."""
    before = len(sink.to("maria@alfa.edu.br"))
    raw = simple_mail(MARIA, subject, "Bom dia,\n\nO sistema caiu hoje cedo na secretaria.\n")
    code, reply = serve.send(raw, "maria@alfa.edu.br", SUPPORT)
    assert code == 250, reply
    ack = sink.wait_for_count(before + 1, address="maria@alfa.edu.br")[-1]
    match = re.search(r"\[#(TG-\d+)\]", ack.header("Subject"))
    assert match, ack.header("Subject")
    return match.group(1), raw, ack


def barrier(serve: ServeProcess, sink: SmtpSink) -> None:
    """Everything queued before now has been sent once a fresh ack arrives (FIFO outbox)."""
    open_ticket(serve, sink, subject=f"barreira {new_message_id()}")


def test_authorized_mail_becomes_ticket_with_threaded_ack(
    serve: ServeProcess, sink: SmtpSink, gateway_config: GatewayConfig
) -> None:
    ref, raw, ack = open_ticket(serve, sink)
    original_id = re.search(rb"Message-ID: (<[^>]+>)", raw).group(1).decode()  # type: ignore[union-attr]

    assert ack.mail_from == SUPPORT
    assert ack.rcpt_tos == ("maria@alfa.edu.br",)
    assert ack.header("Auto-Submitted") == "auto-replied"
    assert ack.header("In-Reply-To") == original_id
    assert original_id in ack.header("References")
    assert re.fullmatch(r"<[^<>@\s]+@example\.com>", ack.header("Message-ID"))
    assert re.fullmatch(
        rf"suporte\+{ref.lower()}\.[a-z2-7]{{16}}@example\.com", ack.header("Reply-To")
    )
    assert ack.header("Subject").startswith(f"[#{ref}] ")
    text = ack.text
    assert ref in text and "Prioridade: 3 (normal)" in text
    assert "Categoria:  dúvida" in text
    assert re.search(r"Primeira resposta prevista até: \d\d/\d\d/\d{4} \d\d:\d\d", text)
    assert "<strong>" + ref + "</strong>" in ack.html

    [ticket] = gateway_config.cli_json("tickets", "list")
    assert ticket["ref"] == ref
    assert ticket["status"] == "new"
    assert ticket["requester"] == "maria@alfa.edu.br"
    assert ticket["organization"] == "alfa"
    assert ticket["queue"] == "n1"
    assert ticket["priority"] == 3
    assert ticket["first_response_due"] and ticket["resolution_due"]
    shown = gateway_config.cli_json("tickets", "show", ref)
    assert [m["direction"] for m in shown["messages"]] == ["inbound", "outbound"]
    assert shown["messages"][0]["body"] == "Bom dia,\n\nO sistema caiu hoje cedo na secretaria."
    assert shown["messages"][1]["message_id"] == ack.header("Message-ID")


@pytest.mark.parametrize("path", REPLIES, ids=[p.stem for p in REPLIES])
def test_client_replies_thread_with_only_new_text(
    path: Path, serve: ServeProcess, sink: SmtpSink, gateway_config: GatewayConfig
) -> None:
    ref, raw, ack = open_ticket(serve, sink)
    original_id = re.search(rb"Message-ID: (<[^>]+>)", raw).group(1).decode()  # type: ignore[union-attr]
    reply_id = new_message_id("alfa.edu.br")
    reply = set_headers(
        fixture("replies", path.name),
        Message_ID=reply_id,
        In_Reply_To=ack.header("Message-ID"),
        References=f"{original_id} {ack.header('Message-ID')}",
        From=MARIA,
    )
    code, answer = serve.send(reply, "maria@alfa.edu.br", SUPPORT)
    assert code == 250 and b"threaded " + ref.encode() in answer, answer

    shown = gateway_config.cli_json("tickets", "show", ref)
    last = shown["messages"][-1]
    assert last["message_id"] == reply_id
    assert last["direction"] == "inbound"
    expected = path.with_suffix(".expected.txt").read_text(encoding="utf-8").strip()
    assert last["body"] == expected
    assert len(gateway_config.cli_json("tickets", "list")) == 1


def test_reply_token_alone_threads(
    serve: ServeProcess, sink: SmtpSink, gateway_config: GatewayConfig
) -> None:
    ref, _, ack = open_ticket(serve, sink)
    token_address = ack.header("Reply-To")
    reply = simple_mail(
        MARIA, "mais uma coisa", "Esqueci de dizer: o erro é 503.", to=token_address
    )
    code, answer = serve.send(reply, "maria@alfa.edu.br", token_address)
    assert code == 250 and f"threaded {ref}".encode() in answer, answer
    body = gateway_config.cli_json("tickets", "show", ref)["messages"][-1]["body"]
    assert body == "Esqueci de dizer: o erro é 503."


def test_subject_tag_alone_threads(serve: ServeProcess, sink: SmtpSink) -> None:
    ref, _, _ = open_ticket(serve, sink)
    reply = simple_mail(MARIA, f"Re: [#{ref}] Sistema fora do ar", "Voltou a funcionar.")
    code, answer = serve.send(reply, "maria@alfa.edu.br", SUPPORT)
    assert code == 250 and f"threaded {ref}".encode() in answer, answer


def test_contact_who_may_reply_but_not_open(
    serve: ServeProcess, sink: SmtpSink, gateway_config: GatewayConfig
) -> None:
    """Pedro has `can_reply` without `can_open_tickets` (issue 11: before, any contact of
    the organization could reply; João, without permission, no longer can)."""
    ref, _, _ = open_ticket(serve, sink)
    pedro = "Pedro Alves <pedro@alfa.edu.br>"
    code, answer = serve.send(
        simple_mail(pedro, f"RE: [#{ref}] Sistema fora do ar", "Aqui também caiu."),
        "pedro@alfa.edu.br",
        SUPPORT,
    )
    assert code == 250 and f"threaded {ref}".encode() in answer, answer
    code, answer = serve.send(
        simple_mail(pedro, "Novo pedido", "Quero abrir um chamado."), "pedro@alfa.edu.br", SUPPORT
    )
    assert code == 250 and b"rejected" in answer, answer
    rejection = sink.wait_for_count(1, address="pedro@alfa.edu.br")[0]
    assert "contato autorizado" in rejection.text
    assert len(gateway_config.cli_json("tickets", "list")) == 1


@pytest.mark.parametrize("route", ["subject_tag", "leaked_token", "forged_token", "headers"])
def test_stranger_gets_polite_rejection_that_reveals_nothing(
    route: str, serve: ServeProcess, sink: SmtpSink, gateway_config: GatewayConfig
) -> None:
    ref, _, ack = open_ticket(serve, sink, subject="Boletos da Escola Alfa")
    stranger = "intruso@evil.example"
    to, subject, extra = SUPPORT, f"Re: [#{ref}] Boletos da Escola Alfa", ""
    if route == "leaked_token":
        to = ack.header("Reply-To")
    elif route == "forged_token":
        to = f"suporte+{ref.lower()}.aaaaaaaaaaaaaaaa@example.com"
    elif route == "headers":
        extra = f"In-Reply-To: {ack.header('Message-ID')}\r\n"
    code, answer = serve.send(
        simple_mail(stranger, subject, "Me mandem os dados.", to=to, extra=extra), stranger, to
    )
    assert code == 250 and b"rejected" in answer, answer

    [rejection] = sink.wait_for_count(1, address=stranger)
    everything = rejection.raw.decode("utf-8", "replace") + rejection.text + rejection.html
    for secret in (ref, "Boletos", "Maria", "maria@alfa.edu.br", "Alfa", ack.header("Reply-To")):
        assert secret not in everything, f"rejection leaks {secret!r}"
    assert rejection.header("Auto-Submitted") == "auto-replied"
    assert "canais oficiais" in rejection.text and SUPPORT in rejection.text
    assert "+" not in rejection.header("Reply-To") + rejection.header("From")
    shown = gateway_config.cli_json("tickets", "show", ref)
    assert len(shown["messages"]) == 2, "a stranger added to the ticket"


def test_rejections_are_rate_limited_per_sender(serve: ServeProcess, sink: SmtpSink) -> None:
    stranger = "loop@robot.example"
    for n in range(4):
        code, answer = serve.send(simple_mail(stranger, f"pedido {n}", "oi"), stranger, SUPPORT)
        assert code == 250 and b"rejected" in answer
    barrier(serve, sink)
    assert len(sink.to(stranger)) == 1


AUTOMATED = [
    ("automated/ooo_outlook_ptbr.eml", "carlos.pereira@gama.com.br", b"ignored"),
    ("automated/ooo_gmail_en.eml", None, b"ignored"),
    ("automated/ooo_subject_only_ptbr.eml", None, b"ignored"),
    ("automated/dsn_postfix.eml", "", b"bounced"),
    ("automated/dsn_exchange_ptbr.eml", "", b"bounced"),
    ("automated/list_mail.eml", None, b"ignored"),
    ("automated/newsletter_bulk.eml", None, b"ignored"),
    ("automated/mdn_read_receipt.eml", None, b"ignored"),
]


def test_auto_replies_bounces_and_bulk_are_never_answered(
    serve: ServeProcess, sink: SmtpSink, gateway_config: GatewayConfig
) -> None:
    senders = []
    for name, mail_from, outcome in AUTOMATED:
        raw = fixture(*name.split("/"))
        from_header = re.search(rb"^From:.*?([\w.+-]+@[\w.-]+)", raw, re.M | re.I)
        sender = from_header.group(1).decode() if from_header else "x@y.z"  # type: ignore[union-attr]
        senders.append(sender.lower())
        code, answer = serve.send(raw, sender if mail_from is None else mail_from, SUPPORT)
        assert code == 250 and outcome in answer, (name, answer)
    barrier(serve, sink)
    answered = {r for m in sink.mails for r in m.rcpt_tos} - {"maria@alfa.edu.br"}
    assert not answered & set(senders), f"answered automated mail: {answered}"
    assert len(gateway_config.cli_json("tickets", "list")) == 1  # the barrier's


def test_redelivery_makes_one_ticket_and_one_ack(
    serve: ServeProcess, sink: SmtpSink, gateway_config: GatewayConfig
) -> None:
    raw = simple_mail(MARIA, "Duplicado?", "Mesma mensagem duas vezes.")
    first = serve.send(raw, "maria@alfa.edu.br", SUPPORT)
    second = serve.send(raw, "maria@alfa.edu.br", SUPPORT)
    assert first[0] == second[0] == 250
    assert b"created" in first[1] and b"duplicate" in second[1]
    barrier(serve, sink)
    acks = [m for m in sink.to("maria@alfa.edu.br") if "Duplicado?" in m.header("Subject")]
    assert len(acks) == 1
    assert len(gateway_config.cli_json("tickets", "list")) == 2  # plus the barrier's


def test_forged_sender_is_quarantined_and_never_answered(
    serve: ServeProcess, sink: SmtpSink, gateway_config: GatewayConfig
) -> None:
    forged = "Authentication-Results: mx.example.com; dmarc=fail (p=reject) header.from={}\r\n"
    code, answer = serve.send(
        simple_mail(MARIA, "Troque a senha", "urgente", extra=forged.format("alfa.edu.br")),
        "maria@alfa.edu.br",
        SUPPORT,
    )
    assert code == 250 and b"quarantined" in answer, answer
    code, answer = serve.send(
        simple_mail("x@spoof.example", "oi", "oi", extra=forged.format("spoof.example")),
        "x@spoof.example",
        SUPPORT,
    )
    assert code == 250 and b"quarantined" in answer, answer
    barrier(serve, sink)
    assert not sink.to("x@spoof.example")
    assert [
        m.header("Subject") for m in sink.to("maria@alfa.edu.br") if "senha" in m.header("Subject")
    ] == []
    assert len(gateway_config.cli_json("tickets", "list")) == 1


def test_smtp_refuses_unknown_recipients_and_oversized_mail(serve: ServeProcess) -> None:
    code, _ = serve.send(simple_mail(MARIA, "x", "y"), "maria@alfa.edu.br", "vendas@example.com")
    assert code == 550
    code, _ = serve.send(simple_mail(MARIA, "x", "y"), "maria@alfa.edu.br", "suporte@other.example")
    assert code == 550
    huge = simple_mail(MARIA, "anexo grande", "A" * 76 + ("\r\n" + "A" * 76) * 30_000)
    code, _ = serve.send(huge, "maria@alfa.edu.br", SUPPORT)
    assert code == 552


def test_a_bounce_of_an_ack_is_recorded_on_its_ticket_and_never_answered(
    serve: ServeProcess, sink: SmtpSink, gateway_config: GatewayConfig
) -> None:
    ref, _, ack = open_ticket(serve, sink)
    dsn = fixture("automated", "dsn_postfix.eml").replace(
        b"<tg-00001.1731431000.9f3c2a@example.com>", ack.header("Message-ID").encode()
    )
    code, answer = serve.send(dsn, "", SUPPORT)
    assert code == 250 and b"bounced" in answer, answer
    assert ref.encode() not in answer  # a report, which anyone can forge, learns no ref
    events = gateway_config.cli_json("tickets", "show", ref)["events"]
    [bounce] = [e for e in events if e["kind"] == "mail_bounced"]
    assert bounce["data"]["bounced_message_id"] == ack.header("Message-ID")
    barrier(serve, sink)
    assert not [m for m in sink.mails if "mailer-daemon" in ",".join(m.rcpt_tos).lower()]


def test_hostile_headers_are_kept_within_bounds_and_answered(
    serve: ServeProcess, sink: SmtpSink, gateway_config: GatewayConfig
) -> None:
    """An encoded line break in a name, a 300-character filename and a 900-character
    Message-ID: stored (trimmed where a column must be) and acknowledged, not 451 forever."""
    long_name = "relatório-" + "x" * 290 + ".pdf"
    raw = (
        "From: =?utf-8?q?Maria_Souza=0D=0ABcc=3A_x=40evil=2Eexample?= <maria@alfa.edu.br>\r\n"
        f"To: {SUPPORT}\r\nSubject: Anexo com nome enorme\r\n"
        f"Message-ID: <{'m' * 900}@alfa.edu.br>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
        "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSegue.\r\n"
        f"--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment;"
        f' filename="{long_name}"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--b--\r\n'
    ).encode()
    code, answer = serve.send(raw, "maria@alfa.edu.br", SUPPORT)
    assert code == 250 and b"created" in answer, answer
    [ack] = sink.wait_for_count(1, address="maria@alfa.edu.br")
    # The name became one harmless quoted line: no header was injected, nobody else mailed.
    assert ack.header("To") == '"Maria Souza Bcc: x@evil.example" <maria@alfa.edu.br>'
    assert not ack.header("Bcc") and ack.rcpt_tos == ("maria@alfa.edu.br",)
    shown = gateway_config.cli_json("tickets", "show", answer.decode().rsplit(" ", 1)[1])
    [attachment] = shown["messages"][0]["attachments"]
    assert attachment["filename"].startswith("relatório-") and len(attachment["filename"]) <= 255
    again = serve.send(raw, "maria@alfa.edu.br", SUPPORT)
    assert again[0] == 250 and b"duplicate" in again[1]
