"""Handing composed mail to the relay; the only module that imports aiosmtplib.

A transport either delivers a claimed outbox entry or raises: `TransientSendError`
for what a later try may fix (connection refused, 4xx), `PermanentSendError`
for what it will not (5xx on every recipient). The demo's pickup folder
stands in for a relay on machines that have none.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import time
from dataclasses import dataclass, field
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


@dataclass
class SmtpRelay:
    """The relay over SMTP. One connection is kept and reused from mail to mail (a new
    connection, EHLO and QUIT per mail cost more than the mail); it is dropped after
    any refusal or fault, when idle for `keep_idle` seconds, and when the event loop
    that opened it is gone. A reused connection the relay has closed meanwhile is
    replaced once, at once: the mail then goes over a fresh connection."""

    host: str
    port: int
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    timeout: float = 20.0
    keep_idle: float = 10.0
    _client: aiosmtplib.SMTP | None = field(default=None, init=False, repr=False)
    _loop: asyncio.AbstractEventLoop | None = field(default=None, init=False, repr=False)
    _used_at: float = field(default=0.0, init=False, repr=False)

    async def send(self, mail: ClaimedMail) -> None:
        reused = False
        try:
            try:
                client, reused = await self._connection()
                await client.sendmail(mail.mail_from, list(mail.recipients), mail.content)
            except (aiosmtplib.SMTPServerDisconnected, ConnectionError) as exc:
                await self._drop()
                if not reused:
                    raise TransientSendError(
                        f"cannot reach relay {self.host}:{self.port}: {exc}"
                    ) from exc
                client, _ = await self._connection()
                await client.sendmail(mail.mail_from, list(mail.recipients), mail.content)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            await self._drop()
            codes = [e.code for e in exc.recipients]
            if codes and all(500 <= c < 600 for c in codes):
                raise PermanentSendError(f"relay refused every recipient: {exc}") from exc
            raise TransientSendError(str(exc)) from exc
        except aiosmtplib.SMTPResponseException as exc:
            await self._drop()
            if 500 <= exc.code < 600:
                raise PermanentSendError(f"relay answered {exc.code} {exc.message}") from exc
            raise TransientSendError(f"relay answered {exc.code} {exc.message}") from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            await self._drop()
            raise TransientSendError(f"cannot reach relay {self.host}:{self.port}: {exc}") from exc
        self._used_at = time.monotonic()

    async def _connection(self) -> tuple[aiosmtplib.SMTP, bool]:
        """The open connection (and True), or a new one (and False)."""
        loop = asyncio.get_running_loop()
        stale = time.monotonic() - self._used_at > self.keep_idle
        if self._client is not None and (self._loop is not loop or stale):
            await self._drop()
        if self._client is not None and self._client.is_connected:
            return self._client, True
        client = aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            start_tls=self.starttls,
            username=self.username,
            password=self.password,
            timeout=self.timeout,
        )
        await client.connect()
        self._client, self._loop = client, loop
        return client, False

    async def _drop(self) -> None:
        client, loop, self._client, self._loop = self._client, self._loop, None, None
        if client is None:
            return
        if loop is asyncio.get_running_loop() and client.is_connected:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.quit(), 2)
        with contextlib.suppress(Exception):  # its loop may be closed already
            client.close()


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
