"""One inbound mail as a value: addresses, parts, envelope, the parsed message."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class EmailAddress:
    """One mailbox; the address is kept lower-cased for comparison."""

    address: str
    name: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "address", self.address.strip().lower())
        # A display name is one line of text: encoded CR/LF or controls would break
        # every header we write with it (RFC 5322 section 2.2).
        clean = "".join(ch if ch.isprintable() else " " for ch in self.name)
        object.__setattr__(self, "name", " ".join(clean.split()))

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]

    @property
    def local_part(self) -> str:
        return self.address.rpartition("@")[0]

    def __str__(self) -> str:
        return self.address


@dataclass(frozen=True)
class AttachmentPart:
    filename: str
    content_type: str
    content: bytes = field(repr=False)
    inline: bool = False

    @property
    def size(self) -> int:
        return len(self.content)

    @functools.cached_property
    def sha256(self) -> str:
        """Hashed once: the attachment row, a held mail's list and the CLI all ask."""
        return hashlib.sha256(self.content).hexdigest()


@dataclass(frozen=True)
class Envelope:
    """The SMTP envelope (RFC 5321), which may differ from the headers."""

    mail_from: str | None = None
    rcpt_tos: tuple[str, ...] = ()


@dataclass(frozen=True)
class ParsedMessage:
    """One inbound mail, parsed once and never mutated by the pipeline."""

    raw_sha256: str
    size: int
    message_id: str | None
    subject: str
    sender: EmailAddress | None
    to: tuple[EmailAddress, ...] = ()
    cc: tuple[EmailAddress, ...] = ()
    reply_to: tuple[EmailAddress, ...] = ()
    in_reply_to: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    date: datetime | None = None
    headers: tuple[tuple[str, str], ...] = ()
    content_type: str = "text/plain"
    text_body: str = ""
    html_body: str = ""
    attachments: tuple[AttachmentPart, ...] = ()
    envelope: Envelope = Envelope()
    defects: tuple[str, ...] = ()
    # For a delivery or read report: the Message-ID of the mail it reports on.
    reported_message_id: str | None = None

    def header(self, name: str) -> str | None:
        """The first value of a header, case-insensitively; None when absent."""
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return None

    def header_values(self, name: str) -> tuple[str, ...]:
        wanted = name.lower()
        return tuple(value for key, value in self.headers if key.lower() == wanted)

    @property
    def stored_id(self) -> str:
        """The Message-ID to file this mail under; one made from its bytes if it has none."""
        return self.message_id or f"<sha256.{self.raw_sha256}@ticketgate.invalid>"

    @property
    def recipients(self) -> tuple[str, ...]:
        """Where the mail was delivered: the envelope if known, else To and Cc."""
        if self.envelope.rcpt_tos:
            return tuple(r.lower() for r in self.envelope.rcpt_tos)
        return tuple(a.address for a in (*self.to, *self.cc))

    @property
    def thread_ids(self) -> tuple[str, ...]:
        """Message-IDs this mail answers, nearest first (RFC 5322 section 3.6.4)."""
        seen: list[str] = []
        for mid in (*self.in_reply_to, *reversed(self.references)):
            if mid not in seen:
                seen.append(mid)
        return tuple(seen)


@dataclass(frozen=True)
class ReceivedMail:
    """A mail as its receipt and, when held, the quarantine keep it: what identifies it
    and whom it came from (one value for both, not two lists of the same fields)."""

    dedup_key: str
    message_id: str | None
    raw_sha256: str
    size: int
    sender: str
    channel: str
    subject: str = ""
    mail_from: str | None = None
    rcpt_tos: tuple[str, ...] = ()

    @classmethod
    def of(cls, msg: ParsedMessage, dedup_key: str, channel: str) -> ReceivedMail:
        return cls(
            dedup_key=dedup_key,
            message_id=msg.message_id,
            raw_sha256=msg.raw_sha256,
            size=msg.size,
            sender=msg.sender.address if msg.sender else "",
            channel=channel,
            subject=msg.subject,
            mail_from=msg.envelope.mail_from,
            rcpt_tos=tuple(msg.envelope.rcpt_tos),
        )

    @classmethod
    def unparseable(cls, raw_sha256: str, size: int, channel: str) -> ReceivedMail:
        """Bytes no parser reads: their hash is all that names them."""
        return cls(f"sha256:{raw_sha256}", None, raw_sha256, size, "", channel)
