"""The bytes of an outgoing mail, written once: headers and MIME parts by hand.

`compose.py` used to build an `EmailMessage` and call `as_bytes()`: header
objects parsed back what we had just formatted, and the SMTP policy refolded
it all, for 40% of an intake's time. What we send is always the same shape (a
text/plain and text/html alternative, perhaps attachments), so it is written
here directly, with the same rules: every header line CRLF-terminated and no
value able to smuggle in a line break; non-ASCII display names and subjects as
RFC 2047 encoded words (a display name encoded whole, never word by word);
text parts 7bit/8bit when their lines are short, else base64; attachment
names with RFC 2231 parameters when not ASCII.
"""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Iterable, Sequence
from email.header import Header
from email.utils import encode_rfc2231

from gateway.domain import AttachmentPart
from gateway.domain.storable import one_line

_LINE = 78  # RFC 5322 section 2.1.1: lines SHOULD be no longer


_MSG_ID = re.compile(r"<[\x21-\x3b\x3d\x3f-\x7e]+>")  # no space, control or '<>'


def header_text(text: str) -> str:
    """Outside text made safe for a header the gateway writes: one line without controls
    (RFC 5322 section 2.2), and nothing shaped like an RFC 2047 encoded word, which a
    reader's client would decode into whatever bytes it hides, a NUL among them."""
    return one_line(text).replace("=?", "= ?")


def message_ids(values: Sequence[str]) -> list[str]:
    """The well-formed msg-ids among `values` (RFC 5322 section 3.6.4); a sender's odd id
    (controls, spaces, an encoded-word lookalike) is left out of our threading headers."""
    return [v for v in values if _MSG_ID.fullmatch(v) and "=?" not in v]


def _is_ascii(value: str) -> bool:
    """Safe to write as it is: ASCII, and nothing a reader would decode as an encoded word."""
    return value.isascii() and "=?" not in value


def encoded(value: str, name: str) -> str:
    """An unstructured header value (Subject), folded; encoded words when not ASCII."""
    value = one_line(value)
    if _is_ascii(value) and len(name) + 2 + len(value) <= _LINE:
        return value
    charset = "us-ascii" if _is_ascii(value) else "utf-8"
    return Header(value, charset, header_name=name).encode(linesep="\r\n", maxlinelen=_LINE)


_SPECIALS = set('()<>[]:;@\\,."')


def mailbox(name: str, address: str) -> str:
    """`Name <address>`: a quoted string when the name needs it, encoded whole when not
    ASCII (a name like "João (Suporte)" must stay one name, not a word and a comment)."""
    # A name with an encoded-word lookalike is itself encoded (it reads as written); an
    # address cannot be, so its lookalike is broken up.
    name, address = one_line(name), header_text(address)
    if not name:
        return address
    if not _is_ascii(name):
        words = Header(name, "utf-8").encode(linesep="\r\n", maxlinelen=_LINE)
        return f"{words} <{address}>"
    if any(c in _SPECIALS for c in name):
        quoted = name.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{quoted}" <{address}>'
    return f"{name} <{address}>"


def mailboxes(pairs: Iterable[tuple[str, str]]) -> str:
    return ",\r\n ".join(mailbox(name, address) for name, address in pairs)


def folded_ids(ids: Sequence[str]) -> str:
    """The well-formed Message-IDs for References/In-Reply-To, one per folded line."""
    return "\r\n ".join(message_ids(ids))


def _text_part(subtype: str, text: str) -> bytes:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    body = "\r\n".join(lines)
    if not body.endswith("\r\n"):
        body += "\r\n"
    data = body.encode("utf-8")
    if max(map(len, lines), default=0) <= _LINE:
        cte = "7bit" if data.isascii() else "8bit"
    else:
        cte, data = "base64", base64.encodebytes(data).replace(b"\n", b"\r\n")
    head = (
        f'Content-Type: text/{subtype}; charset="utf-8"\r\nContent-Transfer-Encoding: {cte}\r\n\r\n'
    )
    return head.encode() + data


def _param(key: str, value: str) -> str:
    value = one_line(value)
    if _is_ascii(value):
        quoted = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'{key}="{quoted}"'
    return f"{key}*={encode_rfc2231(value, 'utf-8')}"


def _attachment(part: AttachmentPart) -> bytes:
    maintype, _, subtype = part.content_type.partition("/")
    ctype = one_line(f"{maintype or 'application'}/{subtype or 'octet-stream'}")
    head = f"Content-Type: {ctype}"
    if part.filename:
        head += f"; {_param('name', part.filename)}"
        disposition = f"Content-Disposition: attachment; {_param('filename', part.filename)}"
    else:
        disposition = "Content-Disposition: attachment"
    return (
        f"{head}\r\n{disposition}\r\nContent-Transfer-Encoding: base64\r\n\r\n".encode()
        + base64.encodebytes(part.content).replace(b"\n", b"\r\n")
    )


def _multipart(subtype: str, parts: Sequence[bytes]) -> bytes:
    boundary = f"===============tg{secrets.token_hex(12)}=="
    out = [f'Content-Type: multipart/{subtype}; boundary="{boundary}"\r\n\r\n'.encode()]
    for part in parts:
        out += [f"--{boundary}\r\n".encode(), part, b"\r\n"]
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out)


def message_bytes(
    headers: Sequence[tuple[str, str]],
    text: str,
    html: str,
    attachments: Sequence[AttachmentPart] = (),
) -> bytes:
    """The whole mail: `headers` (values already formatted by the helpers above), then a
    text/plain and text/html alternative, in a multipart/mixed with any attachments."""
    body = _multipart("alternative", [_text_part("plain", text), _text_part("html", html)])
    if attachments:
        body = _multipart("mixed", [body, *(_attachment(a) for a in attachments)])
    head = "".join(f"{name}: {value}\r\n" for name, value in headers) + "MIME-Version: 1.0\r\n"
    return head.encode("utf-8") + body
