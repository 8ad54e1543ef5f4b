"""The SMTP listener: the official channel's front door; the only aiosmtpd module.

The hooks stay thin (validate, persist, answer). RCPT is accepted only for the
support addresses and their `+tag` forms (550 otherwise). DATA is spooled to a
temporary file as it arrives (kept in memory only up to SPOOL_IN_MEMORY), never
gathered into one buffer: a big mail costs disk, not memory. The size limit is
enforced while receiving: past `max_message_bytes` nothing more is kept and the
end of data is answered 552 (RFC 5321 section 4.5.3.1.10, RFC 1870); a SIZE
declared too big is refused at MAIL already. DATA is answered 250 only after
the delivery callback has committed the message, 451 if it could not (the
client keeps the message and retries). Exception text never reaches the client.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from aiosmtpd.smtp import SMTP
from aiosmtpd.smtp import Envelope as SmtpEnvelope
from aiosmtpd.smtp import Session as SmtpSession

from gateway.domain import Envelope
from inbound.addressing import parse_support_recipient

log = logging.getLogger(__name__)

# The spooled message (positioned at its start) and its envelope -> the outcome text.
Deliver = Callable[[IO[bytes], Envelope], Awaitable[str]]
SPOOL_IN_MEMORY = 1024 * 1024  # bytes of a message kept in memory before it goes to disk
_FLUSH_EVERY = 64 * 1024


class SupportHandler:
    """aiosmtpd handler: accept mail for the support addresses, commit, then answer."""

    def __init__(self, support_addresses: Sequence[str], deliver: Deliver) -> None:
        self.support_addresses = tuple(support_addresses)
        self.deliver = deliver
        self.closing = False  # set on shutdown: no new transaction starts
        self._in_hand = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def handle_MAIL(
        self,
        server: SMTP,
        session: SmtpSession,
        envelope: SmtpEnvelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        if self.closing:
            # RFC 5321 section 3.8: 421 when the service must shut down; the client retries.
            return "421 4.3.2 Service shutting down, please try again later"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 OK"

    async def drain(self, timeout: float) -> bool:
        """Refuse new transactions and wait (at most `timeout` s) for the messages in hand
        to be committed and answered; True when none is left."""
        self.closing = True
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def handle_RCPT(
        self,
        server: SMTP,
        session: SmtpSession,
        envelope: SmtpEnvelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if parse_support_recipient(address, self.support_addresses) is None:
            return "550 5.1.1 Recipient address rejected: not a support address"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_spooled(self, envelope: SmtpEnvelope, spool: IO[bytes]) -> str:
        """The end of DATA: commit the spooled message, then answer."""
        mail_from = envelope.mail_from if envelope.mail_from is not None else None
        try:
            outcome = await self.deliver(
                spool, Envelope(mail_from=mail_from, rcpt_tos=tuple(envelope.rcpt_tos))
            )
        except Exception:
            log.exception("could not commit a message from %s; answered 451", mail_from)
            return "451 4.3.0 Temporary failure storing the message, please try again later"
        return f"250 2.0.0 OK: {outcome}"

    @contextlib.contextmanager
    def in_hand(self) -> Iterator[None]:
        """Marks a message in hand from its first DATA byte to its answer (see `drain`)."""
        self._in_hand += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._in_hand -= 1
            if not self._in_hand:
                self._idle.set()

    async def handle_exception(self, error: Exception) -> str:
        log.exception("SMTP session error", exc_info=error)
        return "451 4.3.0 Temporary server error, please try again later"


class SpoolingSMTP(SMTP):
    """aiosmtpd's SMTP with a DATA phase that writes to a spool file instead of a list
    of lines: memory stays flat whatever the size, and the limit holds as bytes arrive."""

    def __init__(self, handler: SupportHandler, spool_dir: Path, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self.support = handler
        self.spool_dir = spool_dir

    async def smtp_DATA(self, arg: str) -> None:
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        assert self.envelope is not None
        if not self.envelope.rcpt_tos:
            await self.push("503 5.5.1 Error: need RCPT command")
            return
        if arg:
            await self.push("501 5.5.4 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        with (
            self.support.in_hand(),
            tempfile.SpooledTemporaryFile(SPOOL_IN_MEMORY, "w+b", dir=str(self.spool_dir)) as spool,
        ):
            status = await self._receive_into(spool)
            if not status:
                spool.seek(0)
                status = await self.support.handle_spooled(self.envelope, spool)
        self._set_post_data_state()  # type: ignore[no-untyped-call]
        await self.push(status)

    async def _receive_into(self, spool: IO[bytes]) -> str:
        """Read DATA up to the lone dot, undoing dot-stuffing (RFC 5321 section 4.5.2);
        "" when all was kept, else the reply that refuses it."""
        limit = self.data_size_limit
        received = 0
        problem = ""
        pending = bytearray()
        mid_line = False  # the rest of an overlong line follows: it cannot end DATA
        while self.transport is not None:
            try:
                line = await self._reader.readuntil(b"\r\n")
            except asyncio.LimitOverrunError as exc:
                # A line longer than the stream allows: drain it, keep nothing more.
                problem = problem or "500 5.5.2 Line too long (see RFC 5321 section 4.5.3.1.6)"
                await self._reader.read(exc.consumed)
                pending.clear()
                mid_line = True
                continue
            if line == b".\r\n" and not mid_line:
                break
            mid_line = False
            received += len(line)
            if problem:
                continue
            if limit and received > limit:
                # From here on every byte is read and dropped: nothing grows past the limit.
                problem = "552 5.3.4 Message size exceeds fixed maximum message size"
                pending.clear()
                continue
            if len(line) > self.line_length_limit:
                problem = "500 5.5.2 Line too long (see RFC 5321 section 4.5.3.1.6)"
                pending.clear()
                continue
            pending += line[1:] if line.startswith(b".") else line
            if len(pending) >= _FLUSH_EVERY:
                spool.write(pending)
                pending.clear()
        else:  # the connection went away before the final dot: nothing to deliver
            problem = problem or "451 4.3.0 Connection lost during DATA"
        if problem:
            log.info("DATA from %s refused: %s", self.envelope and self.envelope.mail_from, problem)
            return problem
        spool.write(pending)
        return ""


async def start_listener(
    handler: SupportHandler,
    host: str,
    port: int,
    max_message_bytes: int,
    spool_dir: Path,
    *,
    reuse_port: bool = False,
) -> asyncio.Server:
    """Listen on host:port; port 0 picks a free one (read it from the server's sockets).
    `reuse_port` shares the port with sibling processes (socket(7), SO_REUSEPORT): the
    kernel spreads new connections over every socket listening on it."""
    loop = asyncio.get_running_loop()
    spool_dir.mkdir(parents=True, exist_ok=True)

    def factory() -> Any:
        return SpoolingSMTP(
            handler,
            spool_dir,
            data_size_limit=max_message_bytes,
            enable_SMTPUTF8=True,
            decode_data=False,
            hostname="ticketgate",
            ident="ticketgate ESMTP",
        )

    return await loop.create_server(factory, host=host, port=port, reuse_port=reuse_port or None)
