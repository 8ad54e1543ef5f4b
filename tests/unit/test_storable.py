"""Text a database can hold and a header can carry (issue 12, item 3)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gateway.domain import EmailAddress, ParsedMessage
from gateway.domain.storable import one_line, storable, storable_message


def test_nul_and_lone_surrogates_become_the_replacement_character() -> None:
    assert storable("a\x00b\udcff") == "a\ufffdb\ufffd"
    assert storable("Relatório\tok\n") == "Relatório\tok\n", "what databases hold is kept"


@given(st.text())
def test_storable_text_always_encodes_and_holds_no_nul(text: str) -> None:
    kept = storable(text)
    assert "\x00" not in kept
    kept.encode("utf-8")
    assert len(kept) == len(text)


@given(st.text())
def test_one_line_has_no_control_character(text: str) -> None:
    line = one_line(text)
    assert not any(ord(ch) < 32 or 0x7F <= ord(ch) <= 0x9F for ch in line)
    assert line == line.strip()


def test_a_parsed_message_is_made_storable_everywhere_it_is_echoed() -> None:
    msg = ParsedMessage(
        raw_sha256="ab" * 32,
        size=10,
        message_id="<a\x00b@x>",
        subject="Sistema\x00fora\r\ndo ar",
        sender=EmailAddress("maria@alfa.edu.br", "Maria\x00"),
        text_body="corpo\x00",
        headers=(("Subject", "Sistema\x00fora"),),
    )
    clean = storable_message(msg)
    assert clean.subject == "Sistema\ufffdfora do ar"
    assert clean.text_body == "corpo\ufffd"
    assert clean.message_id == "<a\ufffdb@x>"
    assert clean.headers == (("Subject", "Sistema\ufffdfora"),)
    assert clean.raw_sha256 == msg.raw_sha256
