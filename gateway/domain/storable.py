"""Text a database can hold and a header can carry: the one place that decides.

PostgreSQL `text` cannot hold NUL, and neither database driver can encode a
lone surrogate (what a parser leaves for undecodable 8-bit bytes); both are
replaced with U+FFFD in stored text, the same on SQLite and PostgreSQL (the
raw bytes stay whole in the blob store). A header the gateway writes is one
line without control characters (RFC 5322 section 2.2).
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from gateway.domain.message import AttachmentPart, EmailAddress, ParsedMessage

REPLACEMENT = "\ufffd"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# C0 controls, DEL and C1 controls (tab and line breaks included: a header is one line).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029]")


def storable(text: str) -> str:
    """`text` with every character no database can store replaced by U+FFFD."""
    return _UNSTORABLE.sub(REPLACEMENT, text) if _UNSTORABLE.search(text) else text


def storable_value(value: Any) -> Any:
    """A JSON-shaped value (dicts, lists, strings) with every string made storable."""
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, dict):
        return {storable_value(k): storable_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable_value(v) for v in value]
    return value


def one_line(text: str) -> str:
    """Header-safe text: controls (CR, LF and NUL among them) become spaces, runs of
    whitespace one space; a NUL stored as U+FFFD stays visible as such."""
    return " ".join(_CONTROL.sub(" ", text).split())


def _address(found: EmailAddress) -> EmailAddress:
    return EmailAddress(storable(found.address), storable(found.name))


def storable_message(msg: ParsedMessage) -> ParsedMessage:
    """The parsed message with storable text everywhere the pipeline may keep or echo it.

    The subject is one line as well: it becomes the ticket's subject and, from there,
    the Subject header of every mail about the ticket."""
    return replace(
        msg,
        message_id=storable(msg.message_id) if msg.message_id else msg.message_id,
        subject=one_line(storable(msg.subject)),
        sender=_address(msg.sender) if msg.sender else None,
        to=tuple(_address(a) for a in msg.to),
        cc=tuple(_address(a) for a in msg.cc),
        reply_to=tuple(_address(a) for a in msg.reply_to),
        in_reply_to=tuple(storable(m) for m in msg.in_reply_to),
        references=tuple(storable(m) for m in msg.references),
        headers=tuple((storable(k), storable(v)) for k, v in msg.headers),
        text_body=storable(msg.text_body),
        html_body=storable(msg.html_body),
        attachments=tuple(
            AttachmentPart(
                one_line(storable(p.filename)) or "attachment",
                one_line(storable(p.content_type)),
                p.content,
                p.inline,
            )
            for p in msg.attachments
        ),
    )
