"""Reply tokens: stable for a ticket, different per secret and ticket, unforgeable."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.domain import TicketRef, TokenClaim, TokenPurpose
from gateway.domain.signing import ReplyTokens, Signer, SigningKey
from gateway.lifecycle.surveys import SurveyLinks
from gateway.lifecycle.ticket_links import LinkPurpose, TicketLinks

TOKENS = ReplyTokens(b"0123456789abcdef0123456789abcdef")


@given(st.integers(min_value=1, max_value=10**9))
def test_a_token_verifies_to_its_own_ticket(number: int) -> None:
    ref = TicketRef(number)
    assert TOKENS.verify(TOKENS.token_for(ref)) == ref


@given(st.integers(min_value=1, max_value=10**6), st.integers(min_value=1, max_value=10**6))
def test_a_token_never_opens_another_ticket(a: int, b: int) -> None:
    token = TOKENS.token_for(TicketRef(a))
    _, _, signature = token.partition(".")
    moved = f"{str(TicketRef(b)).lower()}.{signature}"
    assert TOKENS.verify(moved) == (TicketRef(b) if a == b else None)


def test_another_secret_or_purpose_does_not_verify() -> None:
    token = TOKENS.token_for(TicketRef(42))
    assert ReplyTokens(b"another-secret-another-secret!!").verify(token) is None
    assert TOKENS.verify(token, purpose=TokenPurpose.NOTE) is None


def test_agent_and_note_tokens_carry_their_purpose() -> None:
    ref = TicketRef(42)
    note = TOKENS.token_for(ref, TokenPurpose.NOTE)
    assert note.endswith(".note")
    assert TOKENS.read(note) == TokenClaim(ref, TokenPurpose.NOTE)
    agent = TOKENS.token_for(ref, TokenPurpose.AGENT)
    assert TOKENS.read(agent) == TokenClaim(ref, TokenPurpose.AGENT)
    # A customer's reply token cannot be turned into a note address by adding ".note".
    assert TOKENS.read(TOKENS.token_for(ref) + ".note") is None


@pytest.mark.parametrize("junk", ["", "tg-00042", "tg-00042.", ".abc", "x.y.z", "tg-xx.abcd"])
def test_malformed_tokens_are_refused(junk: str) -> None:
    assert TOKENS.verify(junk) is None


def test_reply_address_is_a_plus_address_of_the_support_address() -> None:
    address = TOKENS.reply_address("suporte@example.com", TicketRef(42))
    assert address.startswith("suporte+tg-00042.") and address.endswith("@example.com")
    assert len(address.partition("@")[0]) <= 64  # RFC 5321 section 4.5.3.1.1


def test_short_secrets_are_refused() -> None:
    with pytest.raises(ValueError):
        ReplyTokens(b"short")


def test_token_and_survey_link_formats_are_stable_for_mail_already_sent() -> None:
    """Both are signed by the one Signer; the bytes must stay what older mail carries."""
    secret = b"stable-format-secret-0123456789"

    def b32(text: str, chars: int) -> str:
        mac = hmac.new(secret, text.encode(), hashlib.sha256).digest()
        return base64.b32encode(mac).decode().lower()[:chars]

    tokens = ReplyTokens(secret)
    assert tokens.token_for(TicketRef(42)) == "tg-00042." + b32("reply:TG-00042:", 16)
    agent = tokens.token_for(TicketRef(42), TokenPurpose.AGENT, "Ana@Example.com")
    assert agent == "tg-00042." + b32("agent:TG-00042:ana@example.com", 16) + ".agent"
    links = SurveyLinks(secret, "https://support.example.com/")
    maria = "Maria@alfa.edu.br"
    assert links.token(7, TicketRef(42), maria, 20300) == "7.20300." + b32(
        "survey:7:TG-00042:maria@alfa.edu.br:20300", 22
    )
    ticket_links = TicketLinks(Signer(secret), "https://support.example.com/")
    for purpose in LinkPurpose.RESOLUTION, LinkPurpose.ESCALATION, LinkPurpose.TICKET:
        assert ticket_links.token(purpose, TicketRef(42), maria, expires=20300) == (
            "42.20300." + b32(f"{purpose.value}:42:TG-00042:maria@alfa.edu.br:20300", 22)
        )


OLD = SigningKey("", b"the-secret-before-rotation-0123")
K2 = SigningKey("k2", b"the-secret-after-rotation-45678")


def test_a_rotated_key_signs_with_its_id_and_old_tokens_and_links_still_verify() -> None:
    """Rotation: mail sent before it (unversioned) and after it both keep working."""
    ref = TicketRef(42)
    before = ReplyTokens(Signer(OLD))
    after = ReplyTokens(Signer(K2, [OLD]))
    old_token = before.token_for(ref)
    new_token = after.token_for(ref)
    assert new_token.startswith("tg-00042.k2_")
    assert after.verify(old_token) == ref
    assert after.verify(new_token) == ref
    agent = before.token_for(ref, TokenPurpose.AGENT, "ana@example.com")
    assert after.read(agent, "ana@example.com") == TokenClaim(ref, TokenPurpose.AGENT)
    maria, now = "maria@alfa.edu.br", datetime(2026, 12, 1, tzinfo=UTC)
    old_links = TicketLinks(Signer(OLD), "https://x")
    new_links = TicketLinks(Signer(K2, [OLD]), "https://x")
    expires = old_links.codec.expiry(now)
    link = old_links.token(LinkPurpose.RESOLUTION, ref, maria, expires=expires)
    claim = new_links.claim(LinkPurpose.RESOLUTION, link)
    assert claim is not None
    assert new_links.verify(LinkPurpose.RESOLUTION, claim, ref, maria, now)
    new_survey_links = SurveyLinks(Signer(K2, [OLD]), "https://x")
    survey = SurveyLinks(Signer(OLD), "https://x").token(7, ref, maria, expires)
    survey_claim = new_survey_links.claim(survey)
    assert survey_claim is not None
    assert new_survey_links.verify(survey_claim, 7, ref, maria, now)


def test_a_key_dropped_from_the_list_or_an_unknown_id_verifies_nothing() -> None:
    ref = TicketRef(42)
    old_token = ReplyTokens(Signer(OLD)).token_for(ref)
    assert ReplyTokens(Signer(K2)).verify(old_token) is None  # the old key was retired
    k3 = ReplyTokens(Signer(SigningKey("k3", b"a-third-secret-0123456789abcd"), [K2]))
    _, _, signature = ReplyTokens(Signer(K2)).token_for(ref).partition(".")
    mac = signature.partition("_")[2]
    assert k3.verify(f"tg-00042.k9_{mac}") is None  # an id nobody configured
    assert k3.verify(f"tg-00042.{mac}") is None  # the k2 signature stripped of its id
    assert k3.verify(f"tg-00042.k2_{mac}") == ref


@pytest.mark.parametrize("key_id", ["K2", "with-dash", "toolongid9", "a_b"])
def test_key_ids_are_short_lower_case_words(key_id: str) -> None:
    with pytest.raises(ValueError):
        SigningKey(key_id, b"0123456789abcdef0123")
