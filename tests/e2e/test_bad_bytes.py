"""Bytes a database cannot hold (issue 12, item 3): NUL and undecodable 8-bit text in a
subject or body are replaced in stored text, the same on SQLite and PostgreSQL; the raw
bytes stay whole in the blob store and no header the gateway writes carries a control
character. Over real SMTP, and as properties over the in-process intake on the store
under test."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from email.header import Header

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.config.settings import load_settings
from gateway.domain import Outcome
from gateway.domain.clock import FixedClock
from gateway.runtime.app import Gateway, build
from storage.db import Database
from storage.models import MessageRow, OutboxRow, TicketRow
from tests.support.gateway_process import BULK_LIMITS, SECRET, GatewayConfig, ServeProcess
from tests.support.mailfiles import new_message_id
from tests.support.sink import SmtpSink, SunkMail

pytestmark = pytest.mark.e2e

MARIA = "Maria Souza <maria@alfa.edu.br>"
CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # a folded header keeps its tab/space


def mail(subject_field: bytes, body: bytes, *, cte: str = "8bit", mid: str = "") -> bytes:
    return (
        b"From: " + MARIA.encode() + b"\r\nTo: suporte@example.com\r\n"
        b"Subject: "
        + subject_field
        + b"\r\nMessage-ID: "
        + (mid or new_message_id()).encode()
        + b"\r\nDate: Mon, 23 Nov 2026 09:12:44 -0300\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: "
        + cte.encode()
        + b"\r\n\r\n"
        + body
        + b"\r\n"
    )


def encoded(text: str) -> bytes:
    """An RFC 2047 subject: the way a NUL (or any control) can reach a decoded header."""
    return Header(text, "utf-8").encode().encode()


def header_lines(raw: bytes) -> list[bytes]:
    head = raw.split(b"\r\n\r\n", 1)[0]
    return head.split(b"\r\n")


def assert_clean_headers(raw: bytes) -> None:
    for line in header_lines(raw):
        assert not CONTROL.search(line.decode("utf-8", "replace")), line


def test_nul_in_subject_and_body_over_smtp_is_accepted_with_a_clean_ack(
    serve: ServeProcess, sink: SmtpSink, gateway_config: GatewayConfig
) -> None:
    raw = mail(
        encoded("Sistema\x00fora do ar"), base64.b64encode(b"Caiu\x00 tudo.\r\n"), cte="base64"
    )
    code, answer = serve.send(raw, "maria@alfa.edu.br", "suporte@example.com")
    assert code == 250 and b"created TG-" in answer, answer
    raw2 = mail(b"Relat\xf3rio com NUL", b"Linha com \x00 NUL cru no corpo.")
    code, answer = serve.send(raw2, "maria@alfa.edu.br", "suporte@example.com")
    assert code == 250 and b"created TG-" in answer, answer

    acks: list[SunkMail] = sink.wait_for_count(2, address="maria@alfa.edu.br")
    for ack in acks:
        assert_clean_headers(ack.raw)
        assert "\x00" not in ack.text and "\x00" not in ack.html
    subjects = sorted(a.header("Subject") for a in acks)
    assert "Sistema\ufffdfora do ar" in subjects[0] + subjects[1]
    assert any("Relatório com NUL" in s for s in subjects), subjects

    tickets = {t["subject"]: t["ref"] for t in gateway_config.cli_json("tickets", "list")}
    assert set(tickets) == {"Sistema\ufffdfora do ar", "Relatório com NUL"}
    first = gateway_config.cli_json("tickets", "show", tickets["Sistema\ufffdfora do ar"])
    assert first["messages"][0]["body"] == "Caiu\ufffd tudo."
    second = gateway_config.cli_json("tickets", "show", tickets["Relatório com NUL"])
    assert second["messages"][0]["body"] == "Linha com \ufffd NUL cru no corpo."
    # The raw bytes are kept whole, NUL and all, in the content-addressed blob store.
    blob = gateway_config.folder / "data" / "blobs"
    digest = hashlib.sha256(re_crlf(raw2)).hexdigest()
    assert any(p.name == digest for p in blob.rglob("*")), "raw bytes kept in the blob store"


def re_crlf(raw: bytes) -> bytes:
    return re.sub(rb"\r?\n", b"\r\n", raw)


# --- properties over the in-process intake, on the store under test -----------------------

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture
def gateway(gateway_config: GatewayConfig, monkeypatch: pytest.MonkeyPatch) -> Iterator[Gateway]:
    monkeypatch.setenv("TICKETGATE_SECRET", SECRET)
    gateway_config.limits = BULK_LIMITS  # a hundred mails from Maria in a second: no loop here
    gateway_config.write()
    built = build(load_settings(gateway_config.path), clock=FixedClock(NOW))
    yield built
    built.close()


hostile_text = st.text(
    alphabet=st.characters(codec=None, categories=None, exclude_characters="\r\n"),
    min_size=1,
    max_size=60,
)
# An encoded word carries characters, not lone surrogates (those reach a header as raw
# 8-bit bytes, which `raw_subject` plays).
header_text = st.text(
    alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\r\n"),
    min_size=1,
    max_size=60,
)


def stored(db: Database, mid: str) -> tuple[str, str, list[bytes]]:
    with db.transaction() as session:
        row = session.query(MessageRow).filter(MessageRow.message_id == mid).one()
        ticket = session.get(TicketRow, row.ticket_id)
        assert ticket is not None
        outgoing = [o.content for o in session.query(OutboxRow).filter_by(ticket_id=ticket.id)]
        return ticket.subject, row.body, outgoing


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(subject=header_text, body=hostile_text, raw_subject=st.binary(min_size=1, max_size=40))
def test_any_text_is_stored_without_what_a_database_cannot_hold(
    gateway: Gateway, subject: str, body: str, raw_subject: bytes
) -> None:
    mid = new_message_id("alfa.edu.br")
    # Subject: an RFC 2047 word (decoded to any character) then raw 8-bit bytes.
    field = encoded(subject) + b" " + raw_subject.replace(b"\r", b" ").replace(b"\n", b" ")
    payload = base64.b64encode(body.encode("utf-8", "surrogatepass"))
    receipt = gateway.intake.receive(mail(field, payload, cte="base64", mid=mid))
    assert receipt.outcome is Outcome.CREATED, receipt
    ticket_subject, message_body, outgoing = stored(gateway.db, mid)
    for text in (ticket_subject, message_body):
        assert "\x00" not in text
        assert not any("\ud800" <= ch <= "\udfff" for ch in text)
        text.encode("utf-8")  # what both drivers must be able to send
    assert not CONTROL.search(ticket_subject)
    assert outgoing, "the acknowledgement is queued"
    for content in outgoing:
        assert_clean_headers(content)
