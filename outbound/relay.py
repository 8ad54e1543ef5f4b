"""Handing composed mail to the relay; the only module that imports aiosmtplib.

A transport either delivers a claimed outbox entry or raises: `TransientSendError`
for what a later try may fix (connection refused, 4xx), `PermanentSendError`
for what it will not (5xx on every recipient). The demo's pickup folder
stands in for a relay on machines that have none.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import aiosmtplib

from gateway.domain import ClaimedMail


class TransientSendError(Exception):
    """The relay could not take the mail now; try again later."""


class PermanentSendError(Exception):
    """The relay refused the mail for good; retrying cannot help."""


class Transport(Protocol):
    async def send(self, mail: ClaimedMail) -> None: ...


@dataclass(frozen=True)
class SmtpRelay:
    host: str
    port: int
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    timeout: float = 20.0

    async def send(self, mail: ClaimedMail) -> None:
        try:
            await aiosmtplib.send(
                mail.content,
                sender=mail.mail_from,
                recipients=list(mail.recipients),
                hostname=self.host,
                port=self.port,
                start_tls=self.starttls,
                username=self.username,
                password=self.password,
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [e.code for e in exc.recipients]
            if codes and all(500 <= c < 600 for c in codes):
                raise PermanentSendError(f"relay refused every recipient: {exc}") from exc
            raise TransientSendError(str(exc)) from exc
        except aiosmtplib.SMTPResponseException as exc:
            if 500 <= exc.code < 600:
                raise PermanentSendError(f"relay answered {exc.code} {exc.message}") from exc
            raise TransientSendError(f"relay answered {exc.code} {exc.message}") from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise TransientSendError(f"cannot reach relay {self.host}:{self.port}: {exc}") from exc


@dataclass(frozen=True)
class PickupFolder:
    """Writes each mail as an .eml file: the demo's stand-in for a relay."""

    folder: Path

    async def send(self, mail: ClaimedMail) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        name = mail.message_id.strip("<>").replace("/", "_")
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(mail.content)
        os.replace(tmp, self.folder / f"{name}.eml")
