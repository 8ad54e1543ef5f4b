"""Attachments and encodings end to end: client mail sent over SMTP to `ticketgate
serve`, read back with `tickets show --json`, bytes recovered from the blob store."""

from __future__ import annotations

import hashlib
import re

import pytest

from storage.blobs import BlobStore
from tests.support.gateway_process import GatewayConfig, ServeProcess
from tests.support.mailfiles import new_message_id, simple_mail
from tests.support.sink import SmtpSink
from tests.unit.test_mime import (
    GMAIL_TEXT,
    MIME,
    OUTLOOK_TEXT,
    PDF_2026,
    SCREENSHOT_PNG,
    png_chunks,
)

pytestmark = pytest.mark.e2e

MARIA = "maria@alfa.edu.br"
SUPPORT = "suporte@example.com"


def wire_bytes(name: str) -> bytes:
    """The fixture as it crosses SMTP: CRLF line ends (the fixtures already use them)."""
    raw = (MIME / name).read_bytes()
    assert raw.endswith(b"\r\n") and re.search(rb"(?<!\r)\n", raw) is None, name
    return raw


def blobs(config: GatewayConfig) -> BlobStore:
    return BlobStore(config.folder / "data" / "blobs")


def send_new_ticket(serve: ServeProcess, name: str) -> tuple[str, bytes]:
    raw = wire_bytes(name)
    code, answer = serve.send(raw, MARIA, SUPPORT)
    assert code == 250, answer
    match = re.search(rb"created (TG-\d+)", answer)
    assert match, answer
    return match.group(1).decode(), raw


def as_json(attachment: tuple[str, str, int, str, bool]) -> dict[str, object]:
    filename, content_type, size, sha256, _inline = attachment
    return {"filename": filename, "content_type": content_type, "size": size, "sha256": sha256}


def test_gmail_attachments_are_listed_and_recoverable(
    serve: ServeProcess, sink: SmtpSink, gateway_config: GatewayConfig
) -> None:
    ref, raw = send_new_ticket(serve, "gmail_rfc2231_attachment.eml")

    shown = gateway_config.cli_json("tickets", "show", ref)
    assert shown["subject"] == "Relatório de notas com médias erradas"
    assert shown["requester"] == MARIA
    first = shown["messages"][0]
    assert first["direction"] == "inbound"
    assert first["message_id"] == (
        "<CAK8vQ2N+x3mYpZ0rW4TfJ1hBq9LsE7uD5cG6aV2oKn3iR8yXw@mail.gmail.com>"
    )
    assert first["body"] == GMAIL_TEXT
    assert first["attachments"] == [as_json(PDF_2026), as_json(SCREENSHOT_PNG)]

    store = blobs(gateway_config)
    for attachment in first["attachments"]:
        content = store.get(attachment["sha256"])
        assert len(content) == attachment["size"]
        assert hashlib.sha256(content).hexdigest() == attachment["sha256"]
    assert store.get(PDF_2026[3]).startswith(b"%PDF-1.4\n")
    assert png_chunks(store.get(SCREENSHOT_PNG[3])) == [b"IHDR", b"IDAT", b"IEND"]
    raw_path = store.path_for(hashlib.sha256(raw).hexdigest())
    assert raw_path.read_bytes() == raw

    [ack] = sink.wait_for_count(1, address=MARIA)
    assert ack.header("Subject").startswith(f"[#{ref}] ")


def test_outlook_quoted_printable_body_is_decoded(
    serve: ServeProcess, sink: SmtpSink, gateway_config: GatewayConfig
) -> None:
    ref, raw = send_new_ticket(serve, "outlook_iso8859_qp.eml")

    shown = gateway_config.cli_json("tickets", "show", ref)
    assert shown["subject"] == "Relatório de notas não abre"
    first = shown["messages"][0]
    assert first["direction"] == "inbound"
    assert first["message_id"] == "<000701db5d8a$3c1e4f60$b45aee20$@alfa.edu.br>"
    assert first["subject"] == "Relatório de notas não abre"
    assert first["body"] == OUTLOOK_TEXT
    assert first["attachments"] == []
    assert blobs(gateway_config).get(hashlib.sha256(raw).hexdigest()) == raw
    [ack] = sink.wait_for_count(1, address=MARIA)
    assert ack.header("Subject").startswith(f"[#{ref}] ")


def test_garbage_is_quarantined_kept_and_never_answered(
    serve: ServeProcess, sink: SmtpSink, gateway_config: GatewayConfig
) -> None:
    raw = wire_bytes("garbage.eml")
    code, answer = serve.send(raw, "robot@unknown.example", SUPPORT)
    assert code == 250 and b"quarantined" in answer, answer
    assert blobs(gateway_config).get(hashlib.sha256(raw).hexdigest()) == raw  # nothing lost

    # Barrier: the outbox is FIFO, so once this fresh ticket's ack has arrived, anything the
    # garbage could have caused would have been sent already.
    subject = f"barreira {new_message_id()}"
    code, answer = serve.send(
        simple_mail(f"Maria Souza <{MARIA}>", subject, "Bom dia."), MARIA, SUPPORT
    )
    assert code == 250 and b"created" in answer, answer
    [ack] = sink.wait_for_count(1, address=MARIA)
    assert subject in ack.header("Subject")
    assert not sink.to("robot@unknown.example")
    assert all(subject in m.header("Subject") for m in sink.mails), [m.rcpt_tos for m in sink.mails]
    [ticket] = gateway_config.cli_json("tickets", "list")
    assert ticket["subject"] == subject
