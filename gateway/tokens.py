"""Signed reply tokens: the strongest evidence that a mail answers a ticket.

A token rides in the plus-address of every mail the gateway sends
(`suporte+tg-00042.k3j4h5g6f7d8s9a2@example.com`). It is the ticket ref plus
an HMAC-SHA256 over it with the configured secret, so a stranger can neither
guess one for another ticket nor forge one (RFC 2104). Built at start-up and
handed to the inbound edge; nothing imports a global key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from gateway.domain import TicketRef

_SIGNATURE_CHARS = 16


class ReplyTokens:
    """Issues and verifies the plus-address tokens for one secret."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("the signing secret must be at least 16 bytes")
        self._secret = secret

    def _signature(self, purpose: str, ref: TicketRef) -> str:
        mac = hmac.new(self._secret, f"{purpose}:{ref}".encode(), hashlib.sha256).digest()
        return base64.b32encode(mac).decode().lower()[:_SIGNATURE_CHARS]

    def token_for(self, ref: TicketRef, purpose: str = "reply") -> str:
        return f"{str(ref).lower()}.{self._signature(purpose, ref)}"

    def verify(self, token: str, purpose: str = "reply") -> TicketRef | None:
        """The ticket a token names, or None when it is malformed or forged."""
        ref_text, dot, signature = token.strip().lower().rpartition(".")
        ref = TicketRef.parse(ref_text) if dot else None
        if ref is None:
            return None
        expected = self._signature(purpose, ref)
        return ref if hmac.compare_digest(expected, signature) else None

    def reply_address(self, support_address: str, ref: TicketRef) -> str:
        local, _, domain = support_address.partition("@")
        return f"{local}+{self.token_for(ref)}@{domain}"
