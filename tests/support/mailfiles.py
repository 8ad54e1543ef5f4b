"""Building and adjusting test mail at the byte level, as clients wrote it.

Fixtures are stored exactly as a client sent them; a test re-addresses one
(new Message-ID, In-Reply-To the gateway's real ack, To its reply token)
by rewriting header lines only, so the body bytes stay untouched.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "mail"


def fixture(*parts: str) -> bytes:
    return FIXTURES.joinpath(*parts).read_bytes()


def _split(raw: bytes) -> tuple[list[bytes], bytes, bytes]:
    match = re.search(rb"\r?\n\r?\n", raw)
    assert match, "a mail needs a blank line between header and body"
    head, sep, body = raw[: match.start()], raw[match.start() : match.end()], raw[match.end() :]
    eol = b"\r\n" if b"\r\n" in sep else b"\n"
    fields: list[bytes] = []
    for line in head.split(eol):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += eol + line
        else:
            fields.append(line)
    return fields, eol, body


def set_headers(raw: bytes, **headers: str | None) -> bytes:
    """Replace (or add, or with None remove) header fields; names use _ for -."""
    fields, eol, body = _split(raw)
    for key, value in headers.items():
        name = key.replace("_", "-").encode()
        kept = [f for f in fields if not f.lower().startswith(name.lower() + b":")]
        if value is not None:
            kept.append(name + b": " + value.encode("utf-8"))
        fields = kept
    return eol.join(fields) + eol + eol + body


def header(raw: bytes, name: str) -> str | None:
    fields, eol, _ = _split(raw)
    prefix = name.lower().encode() + b":"
    for f in fields:
        if f.lower().startswith(prefix):
            return f[len(prefix) :].decode("utf-8", "replace").replace(eol.decode(), "").strip()
    return None


def new_message_id(domain: str = "client.test") -> str:
    return f"<{uuid.uuid4().hex}@{domain}>"


def simple_mail(
    sender: str,
    subject: str,
    body: str,
    *,
    to: str = "suporte@example.com",
    message_id: str | None = None,
    extra: str = "",
) -> bytes:
    """A plain UTF-8 mail as a minimal client writes it."""
    mid = message_id or new_message_id(sender.rpartition("@")[2] or "client.test")
    text = (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: {mid}\r\n"
        "Date: Mon, 23 Nov 2026 09:12:44 -0300\r\nMIME-Version: 1.0\r\n"
        f"{extra}"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        f"{body}\r\n"
    )
    return text.encode("utf-8")
