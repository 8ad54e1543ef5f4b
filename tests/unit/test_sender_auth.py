"""sender_authentication: only trusted Authentication-Results headers count."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from gateway.domain import EmailAddress, ParsedMessage, SenderAuth
from inbound.mime import parse_message
from inbound.sender_auth import sender_authentication

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "mail" / "automated"
TRUSTED = ("mx.example.com",)

PASS = SenderAuth.PASS
FAIL = SenderAuth.FAIL
UNKNOWN = SenderAuth.UNKNOWN

BASE = parse_message(
    b"From: Maria Oliveira <maria@alfa.edu.br>\r\n"
    b"To: suporte@example.com\r\n"
    b"Subject: Problema no login\r\n"
    b"Message-ID: <abc123@alfa.edu.br>\r\n"
    b"\r\n"
    b"Bom dia.\r\n"
)


def load(name: str) -> ParsedMessage:
    return parse_message((FIXTURES / name).read_bytes())


def with_results(*values: str, sender: str | None = "maria@alfa.edu.br") -> ParsedMessage:
    """BASE with the given Authentication-Results values, top to bottom."""
    return replace(
        BASE,
        sender=EmailAddress(sender) if sender else None,
        headers=(*BASE.headers, *(("Authentication-Results", v) for v in values)),
    )


def auth(*values: str, sender: str | None = "maria@alfa.edu.br") -> SenderAuth:
    return sender_authentication(with_results(*values, sender=sender), TRUSTED)


# --- the fixtures, as Gmail, Microsoft and Postfix+OpenDKIM/OpenDMARC write them ---


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("auth_dmarc_pass.eml", PASS),
        ("auth_dmarc_fail.eml", FAIL),
        ("auth_untrusted_forged_pass.eml", FAIL),
        ("auth_spf_fail_dkim_pass_aligned.eml", PASS),
        ("auth_none.eml", UNKNOWN),
        ("human_ptbr.eml", UNKNOWN),
    ],
)
def test_fixture_verdict(name: str, expected: SenderAuth) -> None:
    assert sender_authentication(load(name), TRUSTED) is expected


def test_forged_header_alone_counts_for_nothing() -> None:
    msg = load("auth_untrusted_forged_pass.eml")
    forged = tuple(
        (k, v) for k, v in msg.headers if k != "Authentication-Results" or "mx.google.com" in v
    )
    assert sum(k == "Authentication-Results" for k, _ in forged) == 1
    assert sender_authentication(replace(msg, headers=forged), TRUSTED) is UNKNOWN


def test_the_forged_header_is_read_when_its_server_is_trusted() -> None:
    msg = load("auth_untrusted_forged_pass.eml")
    assert sender_authentication(msg, ["mx.google.com"]) is PASS
    # Trusting both, the real fail outvotes the pass.
    assert sender_authentication(msg, ["mx.google.com", "mx.example.com"]) is FAIL


def test_nothing_trusted_means_unknown() -> None:
    assert sender_authentication(load("auth_dmarc_pass.eml"), []) is UNKNOWN
    assert sender_authentication(load("auth_dmarc_fail.eml"), ["mx.other.example"]) is UNKNOWN


def test_no_header_at_all_is_unknown() -> None:
    assert sender_authentication(BASE, TRUSTED) is UNKNOWN


# --- which headers are trusted ------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "MX.Example.COM; dmarc=pass header.from=alfa.edu.br",
        "mx.example.com 1; dmarc=pass header.from=alfa.edu.br",
        '"mx.example.com"; dmarc=pass header.from=alfa.edu.br',
        "(our border MTA) mx.example.com; dmarc=pass header.from=alfa.edu.br",
    ],
)
def test_trusted_authserv_id_forms(value: str) -> None:
    assert auth(value) is PASS


def test_trusted_ids_are_compared_case_insensitively() -> None:
    msg = with_results("mx.example.com; dmarc=pass")
    assert sender_authentication(msg, [" MX.EXAMPLE.COM "]) is PASS


@pytest.mark.parametrize(
    "value",
    [
        "mx.example.com.evil.example; dmarc=pass header.from=alfa.edu.br",
        "evil.example mx.example.com; dmarc=pass header.from=alfa.edu.br",
        "example.com; dmarc=pass header.from=alfa.edu.br",
        # Microsoft writes no authserv-id at all; such a header is never trusted.
        "spf=pass smtp.mailfrom=alfa.edu.br; dmarc=pass action=none header.from=alfa.edu.br",
    ],
)
def test_untrusted_authserv_ids_are_ignored(value: str) -> None:
    assert auth(value) is UNKNOWN


def test_a_result_keyword_is_never_taken_for_an_authserv_id() -> None:
    msg = with_results("spf=pass smtp.mailfrom=alfa.edu.br; dmarc=pass header.from=alfa.edu.br")
    assert sender_authentication(msg, ["spf", "spf=pass", "dmarc"]) is UNKNOWN


# --- the decision -------------------------------------------------------------------


def test_dmarc_pass_and_fail_decide() -> None:
    assert auth("mx.example.com; dmarc=pass header.from=alfa.edu.br") is PASS
    assert auth("mx.example.com; dmarc=fail header.from=alfa.edu.br") is FAIL


def test_dmarc_fail_beats_aligned_dkim_and_spf_passes() -> None:
    assert (
        auth(
            "mx.example.com; dkim=pass header.d=alfa.edu.br; spf=pass smtp.mailfrom=alfa.edu.br;"
            " dmarc=fail header.from=alfa.edu.br"
        )
        is FAIL
    )


def test_dmarc_pass_beats_spf_fail() -> None:
    assert auth("mx.example.com; spf=fail smtp.mailfrom=alfa.edu.br; dmarc=pass") is PASS


def test_dmarc_fail_outvotes_dmarc_pass_from_the_same_server() -> None:
    assert auth("mx.example.com; dmarc=fail", "mx.example.com; dmarc=pass") is FAIL


@pytest.mark.parametrize("dmarc", ["none", "temperror", "permerror", "bestguesspass"])
def test_other_dmarc_results_fall_through_to_dkim_and_spf(dmarc: str) -> None:
    assert auth(f"mx.example.com; dmarc={dmarc}") is UNKNOWN
    assert auth(f"mx.example.com; dmarc={dmarc}; dkim=pass header.d=alfa.edu.br") is PASS


def test_aligned_dkim_pass() -> None:
    assert auth("mx.example.com; dkim=pass header.d=alfa.edu.br header.s=google") is PASS


def test_dkim_header_i_is_used_without_header_d() -> None:
    assert auth("mx.example.com; dkim=pass header.i=@mail.alfa.edu.br") is PASS
    assert auth("mx.example.com; dkim=pass header.i=bot@beta.edu.br") is UNKNOWN


def test_dkim_that_did_not_pass_is_no_evidence() -> None:
    assert auth("mx.example.com; dkim=fail header.d=alfa.edu.br") is UNKNOWN
    assert auth("mx.example.com; dkim=neutral header.d=alfa.edu.br") is UNKNOWN


@pytest.mark.parametrize(
    "mailfrom", ["alfa.edu.br", "maria@alfa.edu.br", "bounces@mail.alfa.edu.br"]
)
def test_aligned_spf_pass(mailfrom: str) -> None:
    assert auth(f"mx.example.com; spf=pass smtp.mailfrom={mailfrom}") is PASS


def test_unaligned_spf_pass_is_unknown() -> None:
    assert auth("mx.example.com; spf=pass smtp.mailfrom=bounces.mailer.example") is UNKNOWN
    assert auth("mx.example.com; spf=pass smtp.helo=mail.alfa.edu.br") is UNKNOWN


def test_spf_hard_fail_without_aligned_dkim_is_fail() -> None:
    assert auth("mx.example.com; spf=fail smtp.mailfrom=alfa.edu.br") is FAIL
    assert (
        auth("mx.example.com; dkim=pass header.d=other.example; spf=fail smtp.mailfrom=alfa.edu.br")
        is FAIL
    )


def test_spf_fail_with_aligned_dkim_pass_is_pass() -> None:
    assert (
        auth("mx.example.com; spf=fail smtp.mailfrom=alfa.edu.br; dkim=pass header.d=alfa.edu.br")
        is PASS
    )


@pytest.mark.parametrize("result", ["softfail", "neutral", "none", "temperror", "permerror"])
def test_spf_results_other_than_fail_are_unknown(result: str) -> None:
    assert auth(f"mx.example.com; spf={result} smtp.mailfrom=alfa.edu.br") is UNKNOWN


def test_no_result_is_unknown() -> None:
    assert auth("mx.example.com; none") is UNKNOWN
    assert auth("mx.example.com 1; none") is UNKNOWN


def test_without_a_from_address_only_dmarc_can_pass() -> None:
    assert auth("mx.example.com; dkim=pass header.d=alfa.edu.br", sender=None) is UNKNOWN
    assert auth("mx.example.com; dmarc=pass header.from=alfa.edu.br", sender=None) is PASS


@pytest.mark.parametrize(
    ("signer", "from_domain", "aligned"),
    [
        ("alfa.edu.br", "alfa.edu.br", True),
        ("mail.alfa.edu.br", "alfa.edu.br", True),
        ("alfa.edu.br", "secretaria.alfa.edu.br", True),
        ("ALFA.EDU.BR", "alfa.edu.br", True),
        ("beta.edu.br", "alfa.edu.br", False),
        ("edu.br", "alfa.edu.br", False),
        ("gama.com.br", "alfa.com.br", False),
        ("alfa.gov.br", "alfa.org.br", False),
        ("news.shop.co.uk", "shop.co.uk", True),
        ("other.co.uk", "shop.co.uk", False),
        ("mail.example.com", "example.com", True),
        ("mail.firma.de", "firma.de", True),
        ("a.b.firma.fr", "x.firma.fr", True),
        ("example.org", "example.com", False),
        ("evilexample.com", "example.com", False),
        ("example.com.evil.example", "example.com", False),
    ],
)
def test_alignment_by_organizational_domain(signer: str, from_domain: str, aligned: bool) -> None:
    verdict = auth(f"mx.example.com; dkim=pass header.d={signer}", sender=f"someone@{from_domain}")
    assert verdict is (PASS if aligned else UNKNOWN)


# --- reading the header -------------------------------------------------------------


def test_semicolons_and_results_inside_comments_are_ignored() -> None:
    value = (
        "mx.example.com; spf=pass (dmarc=fail; spf=fail (nested; comment)) "
        "smtp.mailfrom=alfa.edu.br"
    )
    assert auth(value) is PASS


def test_nested_comments_end_at_their_own_parenthesis() -> None:
    value = "mx.example.com; spf=pass (outer (inner); dmarc=fail) smtp.mailfrom=alfa.edu.br"
    assert auth(value) is PASS


def test_semicolons_and_results_inside_quoted_strings_are_ignored() -> None:
    value = r'mx.example.com; dkim=pass reason="say \"ok\"; dmarc=fail" header.d=alfa.edu.br'
    assert auth(value) is PASS


def test_quoted_property_values_are_unquoted() -> None:
    assert auth('mx.example.com; dkim=pass header.d="alfa.edu.br" header.b="x;y"') is PASS
    assert auth(r'mx.example.com; dkim=pass header.d="alfa\.edu\.br"') is PASS


def test_folded_whitespace_and_case() -> None:
    value = "mx.example.com;\r\n\tDKIM=Pass\r\n   Header.D=Alfa.Edu.BR;\r\n dkim-atps=neutral"
    assert auth(value) is PASS
    assert auth("mx.example.com; DMARC=FAIL header.from=alfa.edu.br") is FAIL


def test_method_version_is_ignored() -> None:
    assert auth("mx.example.com; dmarc/1=fail header.from=alfa.edu.br") is FAIL


def test_unknown_key_value_pairs_do_not_break_the_result() -> None:
    value = (
        "mx.example.com; dmarc=pass action=none header.from=alfa.edu.br;compauth=pass reason=100"
    )
    assert auth(value) is PASS


def test_several_results_in_one_header_and_several_headers() -> None:
    one = (
        "mx.example.com; dkim=none; spf=softfail smtp.mailfrom=alfa.edu.br;"
        " dkim=pass header.d=alfa.edu.br"
    )
    assert auth(one) is PASS
    # Only the topmost trusted header counts: a copy below it is the sender's own text.
    assert auth("mx.example.com; dkim=none", "mx.example.com; spf=fail smtp.mailfrom=x.org") is (
        UNKNOWN
    )
    assert auth("mx.example.com; spf=none", "mx.example.com; dmarc=pass") is UNKNOWN
    assert auth("mx.example.com; dmarc=fail", "mx.example.com; dkim=pass header.d=alfa.edu.br") is (
        FAIL
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", UNKNOWN),
        (";", UNKNOWN),
        ("mx.example.com", UNKNOWN),
        ("mx.example.com;", UNKNOWN),
        ("mx.example.com; dmarc=", UNKNOWN),
        ("mx.example.com; ==;;", UNKNOWN),
        ('mx.example.com; "unclosed', UNKNOWN),
        ("mx.example.com; spf=fail (unclosed comment", FAIL),
        ("mx.example.com; spf=fail) smtp.mailfrom=)x.org)", FAIL),
        (")mx.example.com; dmarc=pass", PASS),
    ],
)
def test_malformed_headers_are_read_best_effort_without_raising(
    value: str, expected: SenderAuth
) -> None:
    assert auth(value) is expected
