"""Parsing raw RFC 5322 bytes into the immutable ParsedMessage.

The first step of every inbound path (SMTP, IMAP, `ingest`): bytes in, one
domain value out. This is the only module that imports mail-parser, so the
parser stays swappable. The raw bytes are never decoded to text before
parsing; mail-parser decodes each part by its own declared charset.
"""

from __future__ import annotations

import base64
import binascii
import email
import email.parser
import email.utils
import hashlib
import io
import re
from datetime import datetime
from email.header import Header, decode_header, make_header
from email.message import Message
from typing import IO

import mailparser

from gateway.domain import AttachmentPart, EmailAddress, Envelope, ParsedMessage


class UnparseableMessage(ValueError):
    """The bytes are not a mail we can understand at all; it goes to quarantine."""


HEAD_LIMIT = 256 * 1024  # bytes of header block read by `parse_head`; the rest is body


def parse_message(raw: bytes, envelope: Envelope | None = None) -> ParsedMessage:
    """Parse one message; tolerant of the defects real clients produce."""
    return parse_message_file(io.BytesIO(raw), hashlib.sha256(raw).hexdigest(), len(raw), envelope)


def parse_message_file(
    source: IO[bytes], raw_sha256: str, size: int, envelope: Envelope | None = None
) -> ParsedMessage:
    """Parse a stored message from its file, read in chunks: no whole copy of the raw
    bytes or of their text is ever held, only the parsed tree."""
    source.seek(0)
    if not source.read(1 << 16).strip() and size <= 1 << 16:
        raise UnparseableMessage("empty message")
    source.seek(0)
    # ASCII with surrogate escapes and no newline translation: exactly what
    # email.message_from_bytes feeds the parser, but a chunk at a time.
    text = io.TextIOWrapper(source, encoding="ascii", errors="surrogateescape", newline="")
    try:
        parsed = mailparser.MailParser(email.parser.Parser().parse(text))
    except Exception as exc:  # mail-parser raises many kinds on garbage (and RecursionError)
        raise UnparseableMessage(f"cannot parse MIME: {exc}") from exc
    finally:
        text.detach()  # the caller's file stays open
    message = parsed.message
    return _build(
        message,
        raw_sha256,
        size,
        envelope,
        text_body=_text_body(message, parsed.text_plain),
        html_body="\n".join(parsed.text_html),
        attachments=tuple(_attachments(parsed.attachments)),
    )


def parse_head(
    source: IO[bytes], raw_sha256: str, size: int, envelope: Envelope | None = None
) -> ParsedMessage:
    """The message as its header alone tells it (no body, no attachments): enough to
    decide on mail whose body cannot matter, without decoding a byte of it."""
    source.seek(0)
    head = bytearray()
    while len(head) < HEAD_LIMIT:
        line = source.readline(HEAD_LIMIT)
        head += line
        if not line or not line.strip(b"\r\n"):
            break
    if not head.strip():
        raise UnparseableMessage("empty message")
    message = email.message_from_bytes(bytes(head).rstrip(b"\r\n") + b"\r\n\r\n")
    return _build(message, raw_sha256, size, envelope, text_body="", html_body="", attachments=())


def _build(
    message: Message,
    raw_sha256: str,
    size: int,
    envelope: Envelope | None,
    *,
    text_body: str,
    html_body: str,
    attachments: tuple[AttachmentPart, ...],
) -> ParsedMessage:
    headers = tuple((str(k), _decode_header(_unfold(str(v)))) for k, v in message.items())
    if not any(k.lower() in ("from", "sender", "subject", "message-id") for k, _ in headers):
        raise UnparseableMessage("no RFC 5322 header fields (From, Subject, Message-ID)")
    return ParsedMessage(
        raw_sha256=raw_sha256,
        size=size,
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
        text_body=text_body,
        html_body=html_body,
        attachments=attachments,
        envelope=envelope or Envelope(),
        defects=tuple(sorted({type(d).__name__ for d in message.defects})),
        reported_message_id=_reported_message_id(message),
    )


def _reported_message_id(message: Message) -> str | None:
    """The Message-ID of the mail a report (DSN, RFC 3464; MDN, RFC 8098) is about.

    mail-parser drops the report's machine-readable parts, so they are read here
    from the stdlib tree: the returned headers (text/rfc822-headers) or message.
    """
    if message.get_content_type() != "multipart/report":
        return None
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "text/rfc822-headers":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                returned = email.message_from_bytes(payload.lstrip() + b"\r\n\r\n")
                return _first_msgid(returned.get("Message-ID"))
        if kind == "message/rfc822":
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                return _first_msgid(inner[0].get("Message-ID"))
    return None


def _text_body(message: Message, parts: list[str]) -> str:
    """The text parts joined, with RFC 3676 format=flowed paragraphs re-joined."""
    declared = [
        part
        for part in message.walk()
        if part.get_content_type() == "text/plain"
        and part.get_content_disposition() != "attachment"
    ]
    texts = [text.replace("\r\n", "\n") for text in parts]
    if len(declared) == len(texts):
        texts = [
            unflow(text, delsp=str(part.get_param("delsp", "no")).lower() == "yes")
            if str(part.get_param("format", "fixed")).lower() == "flowed"
            else text
            for part, text in zip(declared, texts, strict=True)
        ]
    return "\n".join(texts).strip("\n")


def unflow(text: str, *, delsp: bool = False) -> str:
    """Undo format=flowed (RFC 3676 section 4): join soft-broken lines per quote depth."""
    out: list[str] = []
    pending: str | None = None
    pending_depth = 0
    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:]
        if content.startswith(" "):  # space-stuffing, section 4.4
            content = content[1:]
        flowed = content.endswith(" ") and content != "-- "  # the signature line is fixed
        if flowed and delsp:
            content = content[:-1]
        if pending is not None and depth == pending_depth:
            pending += content
        else:
            if pending is not None:
                out.append(_quoted(pending, pending_depth))
            pending, pending_depth = content, depth
        if not flowed:
            out.append(_quoted(pending, pending_depth))
            pending = None
    if pending is not None:
        out.append(_quoted(pending, pending_depth))
    return "\n".join(out)


def _quoted(text: str, depth: int) -> str:
    if not depth:
        return text
    return f"{'>' * depth} {text}" if text else ">" * depth


def _decode_header(value: object) -> str:
    """RFC 2047 encoded-words to text; malformed words are kept as written."""
    value = _raw_utf8(value)
    try:
        return str(make_header(decode_header(value)))
    except (UnicodeDecodeError, LookupError, binascii.Error, ValueError):
        return value


def _unfold(value: str) -> str:
    """RFC 5322 section 2.2.3: a CRLF followed by WSP is folding, not part of the value."""
    return re.sub(r"\r?\n(?=[ \t])", "", value)


def _raw_utf8(value: object) -> str:
    """Raw 8-bit header bytes (RFC 6532 UTF-8, or legacy Latin-1) as text.

    The stdlib parser hands such a header back as a Header of "unknown-8bit"
    bytes, or as a string with surrogate escapes.
    """
    if isinstance(value, Header):
        raw = b"".join(
            data if isinstance(data, bytes) else data.encode("utf-8")
            for data, _ in decode_header(value)
        )
    else:
        text = str(value)
        if not any("\udc80" <= ch <= "\udcff" for ch in text):
            return text
        raw = text.encode("ascii", "surrogateescape")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _clean_subject(subject: str) -> str:
    return " ".join(subject.split())


def _addresses(values: list[str]) -> tuple[EmailAddress, ...]:
    # Split on the raw header first: a decoded display name may hold a comma.
    pairs = email.utils.getaddresses([_raw_utf8(v) for v in values])
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
                # a2b_base64 reads an ASCII str in place (b64decode would copy it first).
                content = binascii.a2b_base64(str(payload))
            except (binascii.Error, ValueError):
                content = _b64decode_damaged(str(payload))
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
                # Gmail gives every attachment a Content-ID; "attachment" still means attached.
                inline=disposition.startswith("inline")
                or (bool(item.get("content-id")) and not disposition.startswith("attachment")),
            )
        )
    return parts


def _b64decode_damaged(text: str) -> bytes:
    """What a damaged base64 body still holds: characters outside the alphabet are
    ignored (RFC 2045 section 6.8) and a last quantum cut off in transit is dropped."""
    data = re.sub(r"[^A-Za-z0-9+/]", "", text)
    if len(data) % 4 == 1:
        data = data[:-1]
    return base64.b64decode(data + "=" * (-len(data) % 4))
