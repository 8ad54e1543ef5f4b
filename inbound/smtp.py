"""The SMTP listener: the official channel's front door; the only aiosmtpd module.

The hooks stay thin (validate, persist, answer). RCPT is accepted only for the
support addresses and their `+tag` forms (550 otherwise); aiosmtpd enforces
the size limit with 552 (RFC 5321 section 4.5.3.1.7); DATA is answered 250
only after the delivery callback has committed the message, 451 if it could
not (the client keeps the message and retries). Exception text never reaches
the client.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiosmtpd.smtp import SMTP
from aiosmtpd.smtp import Envelope as SmtpEnvelope
from aiosmtpd.smtp import Session as SmtpSession

from gateway.domain import Envelope
from inbound.addressing import parse_support_recipient

log = logging.getLogger(__name__)

Deliver = Callable[[bytes, Envelope], Awaitable[str]]


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

    async def handle_DATA(self, server: SMTP, session: SmtpSession, envelope: SmtpEnvelope) -> str:
        raw = envelope.original_content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        mail_from = envelope.mail_from if envelope.mail_from is not None else None
        self._in_hand += 1
        self._idle.clear()
        try:
            outcome = await self.deliver(
                raw, Envelope(mail_from=mail_from, rcpt_tos=tuple(envelope.rcpt_tos))
            )
        except Exception:
            log.exception("could not commit a message from %s; answered 451", mail_from)
            return "451 4.3.0 Temporary failure storing the message, please try again later"
        finally:
            self._in_hand -= 1
            if not self._in_hand:
                self._idle.set()
        return f"250 2.0.0 OK: {outcome}"

    async def handle_exception(self, error: Exception) -> str:
        log.exception("SMTP session error", exc_info=error)
        return "451 4.3.0 Temporary server error, please try again later"


async def start_listener(
    handler: SupportHandler, host: str, port: int, max_message_bytes: int
) -> asyncio.Server:
    """Listen on host:port; port 0 picks a free one (read it from the server's sockets)."""
    loop = asyncio.get_running_loop()

    def factory() -> Any:
        return SMTP(
            handler,
            data_size_limit=max_message_bytes,
            enable_SMTPUTF8=True,
            decode_data=False,
            hostname="ticketgate",
            ident="ticketgate ESMTP",
        )

    return await loop.create_server(factory, host=host, port=port)
