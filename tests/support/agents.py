"""Agents and customers by mail, as their clients write it: shared by the e2e suites.

Agent replies are built the way Outlook and Gmail build them: commands and
text on top, the notification quoted below.
"""

from __future__ import annotations

import re

from tests.support.gateway_process import ServeProcess
from tests.support.mailfiles import new_message_id, simple_mail
from tests.support.sink import SmtpSink, SunkMail
from tests.support.waiting import wait_for

MARIA = "Maria Souza <maria@alfa.edu.br>"
SUPPORT = "suporte@example.com"
# What our border MTA (the trusted authserv-id in the test config) writes for agents' mail.
AGENT_AUTH = (
    "Authentication-Results: mx.example.com; dkim=pass header.d=example.com;"
    " dmarc=pass header.from=example.com\r\n"
)
AGENT_ADDRESS = re.compile(r"suporte\+tg-\d{5}\.[a-z2-7]{16}\.agent@example\.com")


def customer_writes(
    serve: ServeProcess, sink: SmtpSink, subject: str = "Sistema fora do ar", extra: str = ""
) -> tuple[str, str, SunkMail]:
    """Maria opens a ticket; returns its ref, her Message-ID and Ana's notification."""
    before = len(sink.to("ana@example.com"))
    mid = new_message_id("alfa.edu.br")
    body = "Bom dia,\n\nO sistema caiu hoje cedo na secretaria."
    code, answer = serve.send(
        simple_mail(MARIA, subject, body, message_id=mid, extra=extra), "maria@alfa.edu.br", SUPPORT
    )
    assert code == 250 and b"created" in answer, answer
    ref = answer.decode().rsplit(" ", 1)[1]
    notification = sink.wait_for_count(before + 1, address="ana@example.com")[-1]
    return ref, mid, notification


def outlook_reply(
    notification: SunkMail,
    top: str,
    sender: str = "Ana Ribeiro <ana@example.com>",
    auth: str = AGENT_AUTH,
) -> bytes:
    """Outlook desktop, pt-BR: top-posted text, then the notification under a De:/Enviado: block."""
    quoted = notification.text.replace("\n", "\r\n")
    body = (
        top.replace("\n", "\r\n") + "\r\n\r\n________________________________\r\n"
        "De: Suporte <suporte@example.com>\r\n"
        "Enviado: segunda-feira, 23 de novembro de 2026 10:20\r\n"
        "Para: Ana Ribeiro <ana@example.com>\r\n"
        f"Assunto: {notification.header('Subject')}\r\n\r\n" + quoted
    )
    return (
        f"From: {sender}\r\nTo: {notification.header('Reply-To')}\r\n"
        f"Subject: RE: {notification.header('Subject')}\r\n"
        f"Message-ID: {new_message_id('example.com')}\r\n"
        f"In-Reply-To: {notification.header('Message-ID')}\r\n"
        f"References: {notification.header('References')} {notification.header('Message-ID')}\r\n"
        "Thread-Index: AQHbPx1A2b3c4d5e6f7g8h9i0j==\r\nX-Mailer: Microsoft Outlook 16.0\r\n"
        + auth
        + "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n" + body
    ).encode("utf-8")


def gmail_reply(
    notification: SunkMail,
    top: str,
    sender: str = "Ana Ribeiro <ana@example.com>",
    auth: str = AGENT_AUTH,
) -> bytes:
    """Gmail, pt-BR: text on top, the notification quoted with '>' under 'Em … escreveu:'."""
    quoted = "\r\n".join("> " + line if line else ">" for line in notification.text.splitlines())
    body = (
        top.replace("\n", "\r\n")
        + "\r\n\r\nEm seg., 23 de nov. de 2026 às 10:20, Suporte <"
        + notification.header("Reply-To")
        + "> escreveu:\r\n\r\n"
        + quoted
        + "\r\n"
    )
    return (
        f"From: {sender}\r\nTo: Suporte <{notification.header('Reply-To')}>\r\n"
        f"Subject: Re: {notification.header('Subject')}\r\n"
        f"Message-ID: <CAF{new_message_id('mail.gmail.com')[1:]}\r\n"
        f"In-Reply-To: {notification.header('Message-ID')}\r\n"
        f"References: {notification.header('Message-ID')}\r\n" + auth + ""
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n" + body
    ).encode("utf-8")


def agent_sends(serve: ServeProcess, raw: bytes, agent: str = "ana@example.com") -> bytes:
    to = re.search(rb"^To: (?:.*<)?([^>\r\n]+)>?\r$", raw, re.M)
    assert to
    code, answer = serve.send(raw, agent, to.group(1).decode())
    assert code == 250, answer
    return answer


def answer_to_customer(sink: SmtpSink, ref: str) -> SunkMail:
    """The agent's answer as the customer receives it (not the ack or status mail)."""

    def found() -> SunkMail | None:
        answers = [
            m
            for m in sink.to("maria@alfa.edu.br")
            if m.header("Subject").startswith(f"[#{ref}] Re:")
        ]
        return answers[-1] if answers else None

    return wait_for(found, 20, f"the agent's answer on {ref}")


def barrier(serve: ServeProcess, sink: SmtpSink) -> None:
    """Once a fresh ack arrives, everything queued before it has been sent (FIFO outbox)."""
    before = len(sink.to("maria@alfa.edu.br"))
    serve.send(
        simple_mail(MARIA, f"barreira {new_message_id()}", "x"), "maria@alfa.edu.br", SUPPORT
    )
    sink.wait_for_count(before + 1, address="maria@alfa.edu.br")
