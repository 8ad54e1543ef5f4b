"""Big mail over real SMTP: spooled as it arrives, refused with 552 past the limit,
and a stranger's big mail decided on its header alone (issue 12, item 4).

Peak memory is measured by bench/big_mail.py, not here; these tests pin the
behaviour that keeps it bounded.
"""

from __future__ import annotations

import base64
import hashlib
import os
import smtplib

import pytest

from storage.blobs import BlobStore
from tests.support.gateway_process import GatewayConfig, ServeProcess
from tests.support.mailfiles import new_message_id
from tests.support.sink import SmtpSink

pytestmark = pytest.mark.e2e

SUPPORT = "suporte@example.com"


def mail_with_attachment(sender: str, subject: str, payload: bytes) -> bytes:
    """An Outlook-style mail: a text part with dot-led lines and a base64 attachment."""
    encoded = base64.encodebytes(payload).replace(b"\n", b"\r\n")
    head = (
        f"From: <{sender}>\r\nTo: {SUPPORT}\r\nSubject: {subject}\r\n"
        f"Message-ID: {new_message_id('alfa.edu.br')}\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="=_b1"\r\n\r\n'
        "--=_b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        "Segue o arquivo.\r\n.linha que começa com ponto\r\n..e esta com dois\r\n"
        '--=_b1\r\nContent-Type: application/octet-stream; name="dados.bin"\r\n'
        'Content-Disposition: attachment; filename="dados.bin"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n"
    ).encode()
    return head + encoded + b"--=_b1--\r\n"


def blob_count(config: GatewayConfig) -> int:
    root = config.folder / "data" / "blobs"
    return sum(1 for path in root.rglob("*") if path.is_file() and not path.name.startswith("."))


def test_mail_over_the_limit_gets_552_and_nothing_is_kept(
    serve: ServeProcess, gateway_config: GatewayConfig
) -> None:
    too_big = mail_with_attachment("maria@alfa.edu.br", "grande", os.urandom(2_000_000))
    with smtplib.SMTP("127.0.0.1", gateway_config.smtp_port, timeout=60) as client:
        client.ehlo("client.test")
        # RFC 1870: a declared SIZE over the limit is refused before any data.
        code, _ = client.mail("maria@alfa.edu.br", ["SIZE=9000000"])
        assert code == 552
        client.rset()
        client.mail("maria@alfa.edu.br")
        client.rcpt(SUPPORT)
        code, answer = client.data(too_big)
        assert code == 552, answer
        # The session goes on: the next message on the same connection is taken.
        small = mail_with_attachment("maria@alfa.edu.br", "pequeno", b"ok")
        client.mail("maria@alfa.edu.br")
        client.rcpt(SUPPORT)
        code, answer = client.data(small)
        assert code == 250 and b"created" in answer, answer
    subjects = [t["subject"] for t in gateway_config.cli_json("tickets", "list")]
    assert subjects == ["pequeno"]
    spool = gateway_config.folder / "data" / "spool"
    assert not any(spool.iterdir()), "the spool keeps nothing once a message is answered"


def test_a_big_mail_is_stored_whole_with_its_attachment(
    serve: ServeProcess, gateway_config: GatewayConfig
) -> None:
    payload = os.urandom(1_200_000)  # past the 1 MiB at which mail is spooled to disk
    raw = mail_with_attachment("maria@alfa.edu.br", "planilha", payload)
    code, answer = serve.send(raw, "maria@alfa.edu.br", SUPPORT)
    assert code == 250 and b"created" in answer, answer
    ref = answer.decode().rsplit(" ", 1)[1]
    shown = gateway_config.cli_json("tickets", "show", ref)
    (attachment,) = shown["messages"][0]["attachments"]
    assert attachment["sha256"] == hashlib.sha256(payload).hexdigest()
    assert attachment["size"] == len(payload)
    assert ".linha que começa com ponto" in shown["messages"][0]["body"]
    # The raw bytes are kept exactly as the client meant them (dot-stuffing undone).
    blobs = BlobStore(gateway_config.folder / "data" / "blobs")
    assert blobs.get(hashlib.sha256(raw).hexdigest()) == raw


def test_a_strangers_big_mail_is_decided_on_its_header_and_its_raw_bytes_kept(
    serve: ServeProcess, gateway_config: GatewayConfig, sink: SmtpSink
) -> None:
    stranger = "alguem@outro.example"
    raw = mail_with_attachment(stranger, "oferta", os.urandom(1_300_000))
    before = blob_count(gateway_config)
    code, answer = serve.send(raw, stranger, SUPPORT)
    assert code == 250 and b"rejected" in answer, answer
    # Only the raw message was stored: its attachment was never decoded.
    assert blob_count(gateway_config) == before + 1
    blobs = BlobStore(gateway_config.folder / "data" / "blobs")
    assert blobs.exists(hashlib.sha256(raw).hexdigest())
    assert "decided on its header alone" in serve.log()
    sink.wait_for_count(1, address=stranger)  # the polite rejection, from the header alone
    assert gateway_config.cli_json("tickets", "list") == []
