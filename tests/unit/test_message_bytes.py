"""Outgoing mail written as bytes (outbound/message_bytes.py) reads back as composed."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy

from gateway.domain import AttachmentPart, MailKind, TicketRef
from outbound.compose import Addressing, Rendered, compose

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def read(addressing: Addressing, rendered: Rendered) -> object:
    mail = compose(MailKind.ACKNOWLEDGEMENT, rendered, addressing, NOW)
    assert b"\r\n" in mail.content and b"\n" not in mail.content.replace(b"\r\n", b"")
    return message_from_bytes(mail.content, policy=policy.default)


def test_names_subject_and_bodies_read_back() -> None:
    msg = read(
        Addressing(
            "suporte@example.com",
            "João (Suporte)",
            [("Souza, Maria", "maria@alfa.edu.br"), ("", "ana@example.com")],
            in_reply_to="<a@b>",
            references=["<x@y>"],
            ticket=TicketRef(7),
        ),
        Rendered("Relatório não abre " * 6, "Olá,\nçã " + "x" * 200 + "\n", "<p>Olá</p>"),
    )
    assert msg["From"].addresses[0].display_name == "João (Suporte)"  # type: ignore[index]
    assert [a.addr_spec for a in msg["To"].addresses] == ["maria@alfa.edu.br", "ana@example.com"]  # type: ignore[index]
    assert str(msg["Subject"]) == "[#TG-00007] " + " ".join(["Relatório não abre"] * 6)  # type: ignore[index]
    assert str(msg["References"]).split() == ["<x@y>", "<a@b>"]  # type: ignore[index]
    # A base64 text part holds its canonical form, CRLF line ends (RFC 2046 section 4.1.1).
    text = msg.get_body(("plain",)).get_content()  # type: ignore[attr-defined]
    assert text.replace("\r\n", "\n") == "Olá,\nçã " + "x" * 200 + "\n"
    html = msg.get_body(("html",)).get_content()  # type: ignore[attr-defined]
    assert html.replace("\r\n", "\n") == "<p>Olá</p>\n"


def test_no_header_injection_and_no_encoded_word_smuggling() -> None:
    msg = read(
        Addressing("suporte@example.com", "Suporte", [("Maria\r\nBcc: x@evil.example", "m@a.br")]),
        Rendered("Re: =?utf-8?q?=00?= fim", "t", "h"),
    )
    assert msg["Bcc"] is None  # type: ignore[index]
    assert str(msg["Subject"]) == "Re: =?utf-8?q?=00?= fim"  # type: ignore[index]


def test_attachments_keep_their_names() -> None:
    part = AttachmentPart("relatório final.pdf", "application/pdf", b"%PDF-1.4" * 100)
    msg = read(
        Addressing("suporte@example.com", "S", [("M", "m@a.br")], attachments=[part]),
        Rendered("s", "t", "h"),
    )
    [attached] = list(msg.iter_attachments())  # type: ignore[attr-defined]
    assert attached.get_filename() == "relatório final.pdf"
    assert attached.get_content() == b"%PDF-1.4" * 100
