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
from email.utils import encode_rfc2231

from gateway.domain import AttachmentPart
from gateway.domain.storable import one_line

_LINE = 78  # RFC 5322 section 2.1.1: lines SHOULD be no longer
_FOLD = "\r\n "  # RFC 5322 section 2.2.3: a header line continued
_MAX_WORD = 75  # RFC 2047 section 2: the longest encoded word


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
    """An unstructured header value (Subject), folded: its ASCII words as they are up to
    the first that is not, the rest as encoded words (so "[#TG-00042] Recebemos" stays
    readable and filterable in the raw mail)."""
    value = one_line(value)
    first = _LINE - len(name) - 2  # "Name: " before the value on its first line
    words = value.split(" ")
    plain = next((i for i, word in enumerate(words) if not _is_ascii(word)), len(words))
    head = _folded(" ".join(words[:plain]), first) if plain else ""
    if plain == len(words):
        return head
    # The space between plain text and an encoded word is kept by readers; the folds
    # between encoded words are not (RFC 2047 section 6.2).
    used = len(head.rpartition("\r\n")[2]) + (_LINE - first if "\r\n" not in head else 0)
    rest = " ".join(words[plain:])
    if not head:
        return _encoded_words(rest, first)
    if _LINE - used - 1 < 20:  # too little room left for a useful word: a new line
        return f"{head}{_FOLD}{_encoded_words(rest, _LINE - 1)}"
    return f"{head} {_encoded_words(rest, _LINE - used - 1)}"


def _folded(value: str, first: int) -> str:
    """ASCII folded before spaces (RFC 5322 section 2.2.3): each line within the limit
    when its words allow; a word longer than a line stays whole."""
    lines: list[str] = []
    line, room = "", first
    for word in value.split(" "):
        if line and len(line) + 1 + len(word) > room:
            lines.append(line)
            line, room = word, _LINE - 1  # a continuation line starts with its space
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return _FOLD.join(lines)


def _encoded_words(text: str, first: int) -> str:
    """`text` as RFC 2047 "B" encoded words folded one per line: each at most 75
    characters (section 2) and of whole characters (section 5); a reader drops the
    folding between adjacent words (section 6.2), so the text reads back exactly."""
    words: list[bytes] = []
    chunk, room = b"", _word_bytes(first)
    for char in text:
        data = char.encode("utf-8")
        if chunk and len(chunk) + len(data) > room:
            words.append(chunk)
            chunk, room = b"", _word_bytes(_LINE - 1)
        chunk += data
    words.append(chunk)
    return _FOLD.join(f"=?utf-8?b?{base64.b64encode(w).decode('ascii')}?=" for w in words)


def _word_bytes(columns: int) -> int:
    """How many bytes of text one encoded word holds within `columns` (and 75)."""
    encoded_chars = min(columns, _MAX_WORD) - len("=?utf-8?b??=")
    return max(encoded_chars // 4 * 3, 6)  # never too small for one character (4 bytes)


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
        # Words of at most 75 characters (RFC 2047 section 2). A reader joins them without
        # the fold (section 6.2); Python's address parser is one that reads it as a space,
        # which only a name of over 45 bytes of UTF-8 meets.
        words = _encoded_words(name, _LINE - len("From: "))
        fits = len("From: ") + len(words) + len(f" <{address}>") <= _LINE
        return f"{words}{' ' if fits else _FOLD}<{address}>"
    if any(c in _SPECIALS for c in name):
        quoted = name.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{quoted}" <{address}>'
    return f"{name} <{address}>"


def mailboxes(pairs: Iterable[tuple[str, str]]) -> str:
    return f",{_FOLD}".join(mailbox(name, address) for name, address in pairs)


def folded_ids(ids: Sequence[str]) -> str:
    """The well-formed Message-IDs for References/In-Reply-To, one per folded line."""
    return _FOLD.join(message_ids(ids))


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
