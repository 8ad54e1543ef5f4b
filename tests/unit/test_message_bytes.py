"""Outgoing mail written as bytes (outbound/message_bytes.py) reads back as composed."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email import message_from_bytes, policy

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.domain import AttachmentPart, MailKind, TicketRef
from gateway.domain.storable import one_line
from outbound.compose import Addressing, Rendered, compose
from outbound.message_bytes import encoded, mailbox

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


_TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=300)
_LONG_NAMES = st.text(st.sampled_from("ãçéõ úÀ-'\"😀aZ"), min_size=40, max_size=700)


@settings(max_examples=300, deadline=None)
@given(subject=_TEXT, name=_TEXT | _LONG_NAMES)
def test_any_subject_and_name_read_back(subject: str, name: str) -> None:
    """RFC 2047 words of whole characters, at most 75 long; a subject folded so no line
    passes 78 columns (a word of ASCII longer than a line excepted). Both read back
    exactly, but that Python's address parser reads the fold inside a name of over 45
    bytes as a space (RFC 2047 section 6.2 says a reader drops it)."""
    subject_line, from_line = encoded(subject, "Subject"), mailbox(name, "s@example.com")
    raw = f"From: {from_line}\r\nSubject: {subject_line}\r\n\r\n"
    msg = message_from_bytes(raw.encode(), policy=policy.default)
    assert str(msg["Subject"]) == one_line(subject)
    [address] = msg["From"].addresses  # type: ignore[index]
    assert address.addr_spec == "s@example.com"
    if len(one_line(name).encode()) <= 45:
        assert address.display_name == one_line(name)
    else:
        assert address.display_name.replace(" ", "") == one_line(name).replace(" ", "")
    for line in f"Subject: {subject_line}".split("\r\n"):
        assert len(line) <= 78 or (len(line.split()) == 2 and line.isascii()), line
    assert all(len(word) <= 75 for word in re.findall(r"=\?utf-8\?b\?[^?]*\?=", raw))


def test_a_long_ascii_subject_is_folded_at_spaces() -> None:
    words = ["Relatorio"] * 20
    value = encoded(" ".join(words), "Subject")
    assert "=?" not in value and all(len(line) <= 78 for line in value.split("\r\n"))
    assert value.replace("\r\n", "") == " ".join(words)


def test_a_subject_keeps_its_ascii_lead_readable_in_the_raw_mail() -> None:
    """Filters and people reading raw mail find the ticket tag as written."""
    value = encoded("[#TG-00042] Recebemos sua solicitação", "Subject")
    assert value.startswith("[#TG-00042] Recebemos sua =?utf-8?b?")
