"""One mailbox's settings, credentials and errors: what the gateway builds from `[[imap]]`
and hands to the poller in `inbound/imap.py`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal


class ImapSetupError(Exception):
    """Connection, TLS, login or folders are wrong; the text says what to change."""


class CredentialUnavailable(Exception):
    """The password or OAuth2 token could not be obtained; the text says why."""


class DeliverLater(Exception):
    """Raised by `deliver` when the failure is not the message's fault (store down).

    The poller keeps the message on the server, backs off and reconnects; the
    attempt does not count towards `max_attempts`.
    """


@dataclass(frozen=True)
class Password:
    secret: str


@dataclass(frozen=True)
class OAuth2Token:
    """A bearer token for SASL XOAUTH2; fetched again on every connection (they expire)."""

    token: str


Credential = Password | OAuth2Token


@dataclass(frozen=True)
class MailboxSettings:
    """One mailbox to poll; built from `[[imap]]` by the gateway, plain values only."""

    host: str
    port: int
    username: str
    credential: Callable[[], Credential]
    # Where the credential comes from, for error messages ("the password in $IMAP_PASSWORD").
    credential_hint: str = "the password"
    tls: bool = True
    starttls: bool = False
    ca_file: str | None = None
    folder: str = "INBOX"
    done_folder: str = "Processed"
    error_folder: str = "Errors"
    mark_as: Literal["move", "flag"] = "move"
    done_flag: str = "$Ticketgate"
    idle: bool = True
    poll_seconds: float = 60.0
    batch_size: int = 100
    fetch_bytes: int = 8 * 1024 * 1024
    max_attempts: int = 3
    timeout: float = 60.0
    backoff_initial: float = 1.0
    backoff_max: float = 300.0

    @property
    def label(self) -> str:
        return f"{self.username}@{self.host}:{self.port}/{self.folder}"

    def security(self) -> str:
        return "TLS" if self.tls else "STARTTLS" if self.starttls else "no encryption"


DeliverGroup = Callable[[Sequence[bytes]], list[str | Exception]]
"""Commits a group of raw messages together (group commit) and returns, in order, each one's
outcome or the error that kept it out. A `DeliverLater` ends the list: it and the messages
after it were not stored and stay on the server; a shorter list means the same."""

