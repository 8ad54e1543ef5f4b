"""Parsing raw RFC 5322 bytes into the immutable ParsedMessage.

The first step of every inbound path (SMTP, IMAP, `ingest`): bytes in, one
domain value out. This is the only module that imports mail-parser, so the
parser stays swappable. The raw bytes are never decoded to text before
parsing; mail-parser decodes each part by its own declared charset.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import hashlib
from datetime import datetime
from email.header import decode_header, make_header

import mailparser

from gateway.domain import AttachmentPart, EmailAddress, Envelope, ParsedMessage


class UnparseableMessage(ValueError):
    """The bytes are not a mail we can understand at all; it goes to quarantine."""


def parse_message(raw: bytes, envelope: Envelope | None = None) -> ParsedMessage:
    """Parse one message; tolerant of the defects real clients produce."""
    if not raw.strip():
        raise UnparseableMessage("empty message")
    try:
        parsed = mailparser.parse_from_bytes(raw)
    except Exception as exc:  # mail-parser raises many kinds on garbage
        raise UnparseableMessage(f"cannot parse MIME: {exc}") from exc
    message = parsed.message
    headers = tuple((str(k), _decode_header(str(v))) for k, v in message.items())
    if not any(k.lower() in ("from", "sender", "subject", "message-id") for k, _ in headers):
        raise UnparseableMessage("no RFC 5322 header fields (From, Subject, Message-ID)")
    return ParsedMessage(
        raw_sha256=hashlib.sha256(raw).hexdigest(),
        size=len(raw),
        message_id=_first_msgid(message.get("Message-ID")),
        subject=_clean_subject(_decode_header(message.get("Subject", "") or "")),
        sender=_first_address(message.get_all("From") or message.get_all("Sender") or []),
        to=_addresses(message.get_all("To") or []),
        cc=_addresses(message.get_all("Cc") or []),
        reply_to=_addresses(message.get_all("Reply-To") or []),
        in_reply_to=_msgids(message.get("In-Reply-To")),
        references=_msgids(" ".join(str(v) for v in message.get_all("References") or [])),
        date=_date(message.get("Date")),
        headers=headers,
        content_type=message.get_content_type(),
        text_body="\n".join(parsed.text_plain).strip("\r\n"),
        html_body="\n".join(parsed.text_html),
        attachments=tuple(_attachments(parsed.attachments)),
        envelope=envelope or Envelope(),
        defects=tuple(sorted({type(d).__name__ for d in message.defects})),
    )


def _decode_header(value: str) -> str:
    """RFC 2047 encoded-words to text; malformed words are kept as written."""
    try:
        return str(make_header(decode_header(value)))
    except (UnicodeDecodeError, LookupError, binascii.Error, ValueError):
        return value


def _clean_subject(subject: str) -> str:
    return " ".join(subject.split())


def _addresses(values: list[str]) -> tuple[EmailAddress, ...]:
    # Split on the raw header first: a decoded display name may hold a comma.
    pairs = email.utils.getaddresses([str(v) for v in values])
    return tuple(EmailAddress(addr, _decode_header(name)) for name, addr in pairs if "@" in addr)


def _first_address(values: list[str]) -> EmailAddress | None:
    found = _addresses(values)
    return found[0] if found else None


def _msgids(value: object) -> tuple[str, ...]:
    """Message-IDs in a header, angle brackets kept, in order (RFC 5322 3.6.4)."""
    if not value:
        return ()
    text = str(value)
    ids: list[str] = []
    start = text.find("<")
    while start != -1:
        end = text.find(">", start)
        if end == -1:
            break
        mid = "".join(text[start : end + 1].split())
        if "@" in mid and mid not in ids:
            ids.append(mid)
        start = text.find("<", end)
    return tuple(ids)


def _first_msgid(value: object) -> str | None:
    ids = _msgids(value)
    if ids:
        return ids[0]
    bare = str(value or "").strip()
    return f"<{bare}>" if bare and "@" in bare and " " not in bare else None


def _date(value: object) -> datetime | None:
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(str(value))
    except (TypeError, ValueError, IndexError):
        return None


def _attachments(items: list[dict[str, object]]) -> list[AttachmentPart]:
    parts: list[AttachmentPart] = []
    for item in items:
        payload = item.get("payload") or ""
        if item.get("binary"):
            try:
                content = base64.b64decode(str(payload))
            except (binascii.Error, ValueError):
                content = str(payload).encode("utf-8", "surrogateescape")
        else:
            charset = str(item.get("charset") or "utf-8")
            try:
                content = str(payload).encode(charset, "replace")
            except LookupError:
                content = str(payload).encode("utf-8", "replace")
        disposition = str(item.get("content-disposition") or "").lower()
        parts.append(
            AttachmentPart(
                filename=str(item.get("filename") or "attachment"),
                content_type=str(item.get("mail_content_type") or "application/octet-stream"),
                content=content,
                inline=disposition.startswith("inline") or bool(item.get("content-id")),
            )
        )
    return parts
