"""classify_automated: bounces, auto-replies and bulk mail told apart from people."""

from __future__ import annotations

import unicodedata
from dataclasses import replace
from pathlib import Path

import pytest

from gateway.domain import AutomatedKind, AutomatedVerdict, EmailAddress, Envelope, ParsedMessage
from inbound.automated import classify_automated
from inbound.mime import parse_message

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "mail" / "automated"

BOUNCE = AutomatedKind.BOUNCE
AUTO_REPLY = AutomatedKind.AUTO_REPLY
BULK = AutomatedKind.BULK


def load(name: str) -> ParsedMessage:
    return parse_message((FIXTURES / name).read_bytes())


def mail(
    *headers: str,
    sender: str = "maria@alfa.edu.br",
    content_type: str = "text/plain; charset=utf-8",
    envelope: Envelope | None = None,
) -> ParsedMessage:
    """A small human-looking mail with extra header lines, parsed like real input."""
    lines = [
        f"From: Maria Oliveira <{sender}>",
        "To: suporte@example.com",
        "Subject: Problema no login",
        "Message-ID: <abc123@alfa.edu.br>",
        "Date: Thu, 14 Nov 2024 09:12:43 -0300",
        "MIME-Version: 1.0",
        f"Content-Type: {content_type}",
        *headers,
        "",
        "Bom dia, nao consigo entrar no sistema.",
        "",
    ]
    return parse_message("\r\n".join(lines).encode("ascii"), envelope)


HUMAN = mail()


def kind_of(msg: ParsedMessage) -> AutomatedKind | None:
    verdict = classify_automated(msg)
    return verdict.kind if verdict else None


# --- the fixtures, as real senders write them ------------------------------------

EXPECTED: dict[str, AutomatedVerdict | None] = {
    "dsn_postfix.eml": AutomatedVerdict(BOUNCE, "multipart/report; report-type=delivery-status"),
    "dsn_exchange_ptbr.eml": AutomatedVerdict(
        BOUNCE, "multipart/report; report-type=delivery-status"
    ),
    "ooo_outlook_ptbr.eml": AutomatedVerdict(AUTO_REPLY, "Auto-Submitted: auto-generated"),
    "ooo_gmail_en.eml": AutomatedVerdict(AUTO_REPLY, "Auto-Submitted: auto-replied"),
    "ooo_subject_only_ptbr.eml": AutomatedVerdict(AUTO_REPLY, "Subject starts with 'Ausente:'"),
    "mdn_read_receipt.eml": AutomatedVerdict(
        AUTO_REPLY, "multipart/report; report-type=disposition-notification (read receipt)"
    ),
    "list_mail.eml": AutomatedVerdict(BULK, "Precedence: list"),
    "newsletter_bulk.eml": AutomatedVerdict(BULK, "Precedence: bulk"),
    "human_ptbr.eml": None,
    "human_autosubmitted_no.eml": None,
    "auth_dmarc_pass.eml": None,
    "auth_dmarc_fail.eml": None,
    "auth_untrusted_forged_pass.eml": None,
    "auth_spf_fail_dkim_pass_aligned.eml": None,
    "auth_none.eml": None,
}


@pytest.mark.parametrize(("name", "expected"), sorted(EXPECTED.items()))
def test_fixture_verdict(name: str, expected: AutomatedVerdict | None) -> None:
    assert classify_automated(load(name)) == expected


def test_every_fixture_has_an_expectation() -> None:
    assert sorted(p.name for p in FIXTURES.glob("*.eml")) == sorted(EXPECTED)


def test_human_fixture_mentions_auto_reply_words_yet_is_human() -> None:
    msg = load("human_ptbr.eml")
    assert msg.subject == "Dúvida sobre resposta automática do sistema"
    assert "Recebi uma resposta automática ontem" in msg.text_body
    assert classify_automated(msg) is None


def test_the_plain_test_mail_is_human() -> None:
    assert classify_automated(HUMAN) is None


# --- bounces ----------------------------------------------------------------------

REPORT = "multipart/report; boundary=b1; report-type="


@pytest.mark.parametrize(
    "content_type",
    [
        REPORT + "delivery-status",
        'multipart/report; report-type="delivery-status"; boundary=b1',
        "Multipart/Report; Report-Type=Delivery-Status; boundary=b1",
        "multipart/report;\r\n\treport-type=delivery-status;\r\n\tboundary=b1",
    ],
)
def test_delivery_status_report_is_a_bounce(content_type: str) -> None:
    verdict = classify_automated(mail(content_type=content_type))
    assert verdict == AutomatedVerdict(BOUNCE, "multipart/report; report-type=delivery-status")


def test_read_receipt_is_an_auto_reply_even_with_null_return_path() -> None:
    msg = mail("Return-Path: <>", content_type=REPORT + "disposition-notification")
    assert kind_of(msg) is AUTO_REPLY


def test_report_type_parameter_on_other_content_type_is_ignored() -> None:
    assert classify_automated(mail(content_type="text/plain; report-type=delivery-status")) is None


def test_other_report_types_fall_through_to_the_other_rules() -> None:
    assert classify_automated(mail(content_type=REPORT + "feedback-report")) is None
    assert kind_of(mail("Return-Path: <>", content_type=REPORT + "feedback-report")) is BOUNCE


@pytest.mark.parametrize("mail_from", ["", "<>", " < > "])
def test_null_envelope_sender_is_a_bounce(mail_from: str) -> None:
    verdict = classify_automated(mail(envelope=Envelope(mail_from=mail_from)))
    assert verdict == AutomatedVerdict(BOUNCE, "null reverse path (MAIL FROM:<>)")


def test_envelope_with_a_sender_or_unknown_is_not_a_bounce() -> None:
    assert classify_automated(mail(envelope=Envelope(mail_from="maria@alfa.edu.br"))) is None
    assert classify_automated(mail(envelope=Envelope(mail_from=None))) is None


@pytest.mark.parametrize("value", ["<>", "< >"])
def test_null_return_path_header_is_a_bounce(value: str) -> None:
    assert classify_automated(mail(f"Return-Path: {value}")) == AutomatedVerdict(
        BOUNCE, "Return-Path: <>"
    )


def test_return_path_with_an_address_is_not_a_bounce() -> None:
    assert classify_automated(mail("Return-Path: <maria@alfa.edu.br>")) is None


@pytest.mark.parametrize(
    "sender",
    ["MAILER-DAEMON@mail.example.com", "Mailer-Daemon@gmail.com", "postmaster@outlook.com"],
)
def test_mail_system_sender_is_a_bounce(sender: str) -> None:
    assert classify_automated(mail(sender=sender)) == AutomatedVerdict(
        BOUNCE, f"From: {sender.lower()}"
    )


@pytest.mark.parametrize(
    "sender", ["postmaster.ti@alfa.edu.br", "mailer@alfa.edu.br", "daemon@alfa.edu.br"]
)
def test_lookalike_local_parts_are_not_bounces(sender: str) -> None:
    assert classify_automated(mail(sender=sender)) is None


def test_sender_checked_by_address_not_display_name() -> None:
    msg = replace(HUMAN, sender=EmailAddress("maria@alfa.edu.br", "postmaster"))
    assert classify_automated(msg) is None


def test_exim_failed_recipients_header_is_a_bounce() -> None:
    msg = mail("X-Failed-Recipients: joao.silva@beta.com.br")
    assert classify_automated(msg) == AutomatedVerdict(BOUNCE, "X-Failed-Recipients present")


def test_bounce_wins_over_auto_submitted_and_bulk() -> None:
    msg = mail("Auto-Submitted: auto-replied", "Precedence: bulk", sender="postmaster@outlook.com")
    assert kind_of(msg) is BOUNCE


# --- auto-replies -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "keyword"),
    [
        ("auto-replied", "auto-replied"),
        ("Auto-Generated", "auto-generated"),
        ('auto-generated; owner-email="ti@alfa.edu.br"', "auto-generated"),
        ("auto-replied (vacation)", "auto-replied"),
        ("(sent by robot) auto-notified", "auto-notified"),
    ],
)
def test_auto_submitted_other_than_no_is_an_auto_reply(value: str, keyword: str) -> None:
    assert classify_automated(mail(f"Auto-Submitted: {value}")) == AutomatedVerdict(
        AUTO_REPLY, f"Auto-Submitted: {keyword}"
    )


@pytest.mark.parametrize("value", ["no", "No", "NO (a person wrote this)", "no; reason=human"])
def test_auto_submitted_no_is_human(value: str) -> None:
    assert classify_automated(mail(f"Auto-Submitted: {value}")) is None


@pytest.mark.parametrize("header", ["X-Autoreply: yes", "X-Autorespond: Out of office"])
def test_legacy_autoreply_headers(header: str) -> None:
    name = header.partition(":")[0]
    assert classify_automated(mail(header)) == AutomatedVerdict(AUTO_REPLY, f"{name} present")


@pytest.mark.parametrize("value", ["All", "OOF, AutoReply", "DR, RN, NRN, OOF", "autoreply"])
def test_exchange_auto_response_suppress(value: str) -> None:
    assert classify_automated(mail(f"X-Auto-Response-Suppress: {value}")) == AutomatedVerdict(
        AUTO_REPLY, f"X-Auto-Response-Suppress: {value}"
    )


def test_auto_response_suppress_for_receipts_only_is_human() -> None:
    assert classify_automated(mail("X-Auto-Response-Suppress: DR, RN, NRN")) is None


@pytest.mark.parametrize(
    ("subject", "prefix"),
    [
        ("Automatic reply: [#TG-00001] Login", "Automatic reply:"),
        ("Resposta automática: [#TG-00001] Login", "Resposta automática:"),
        ("RESPOSTA AUTOMÁTICA: [#TG-00001] Login", "Resposta automática:"),
        ("Auto Reply: Login", "Auto Reply:"),
        ("out of office: Login", "Out of Office:"),
        ("Ausente: [#TG-00001] Login", "Ausente:"),
        ("Fora do escritório até 30/11", "Fora do escritório"),
        (unicodedata.normalize("NFD", "Resposta automática: Login"), "Resposta automática:"),
    ],
)
def test_out_of_office_subject_without_headers(subject: str, prefix: str) -> None:
    msg = replace(HUMAN, subject=subject)
    assert classify_automated(msg) == AutomatedVerdict(
        AUTO_REPLY, f"Subject starts with {prefix!r}"
    )


@pytest.mark.parametrize(
    "subject",
    [
        "Dúvida sobre resposta automática do sistema",
        "Re: Resposta automática: [#TG-00001] Login",
        "Resposta automatica: sem acento",
        "Ausente amanhã, favor ligar",
        "Out of office Re: [#TG-00001] Login",
        "Automatic replies are not working",
    ],
)
def test_subject_detection_is_narrow(subject: str) -> None:
    assert classify_automated(replace(HUMAN, subject=subject)) is None


def test_auto_reply_wins_over_bulk() -> None:
    assert kind_of(mail("Auto-Submitted: auto-replied", "Precedence: bulk")) is AUTO_REPLY


# --- bulk -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "word"),
    [("bulk", "bulk"), ("Junk", "junk"), ("LIST", "list"), ("bulk (newsletter)", "bulk")],
)
def test_precedence_bulk_junk_list(value: str, word: str) -> None:
    assert classify_automated(mail(f"Precedence: {value}")) == AutomatedVerdict(
        BULK, f"Precedence: {word}"
    )


@pytest.mark.parametrize("value", ["first-class", "urgent", "normal"])
def test_other_precedence_values_are_human(value: str) -> None:
    assert classify_automated(mail(f"Precedence: {value}")) is None


def test_list_id_is_bulk() -> None:
    msg = replace(HUMAN, headers=(*HUMAN.headers, ("List-Id", "Usuarios <usuarios.lists.org>")))
    assert classify_automated(msg) == AutomatedVerdict(
        BULK, "List-Id: Usuarios <usuarios.lists.org>"
    )


def test_list_unsubscribe_is_bulk() -> None:
    msg = mail("List-Unsubscribe: <mailto:leave@lists.example.org>")
    assert classify_automated(msg) == AutomatedVerdict(BULK, "List-Unsubscribe present")
