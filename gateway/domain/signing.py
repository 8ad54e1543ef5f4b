"""Signed reply tokens: the strongest evidence that a mail answers a ticket.

A token rides in the plus-address of every mail the gateway sends
(`suporte+tg-00042.k3j4h5g6f7d8s9a2@example.com`). It is the ticket ref plus
an HMAC-SHA256 over it with the configured secret, so a stranger can neither
guess one for another ticket nor forge one (RFC 2104). Agents get tokens of
their own purposes: `….agent` on the mail they are notified with, `….note`
for the ticket's internal-note address; each purpose has its own signature,
and these two are bound to the agent they were sent to, so a forwarded or
leaked agent address is worthless to anyone else. Built at start-up and
handed to the inbound edge; nothing imports a global key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass

from gateway.domain.decision import TokenClaim, TokenPurpose
from gateway.domain.tickets import TicketRef

_SIGNATURE_CHARS = 16


_KEY_ID_SEPARATOR = "_"  # outside base32's alphabet, safe in a local part and a URL path


def is_key_id(value: str) -> bool:
    """A key id is 1-8 lower-case letters or digits ("" is the key of tokens without one)."""
    return value == "" or (
        len(value) <= 8 and value.isascii() and value.isalnum() and value == value.lower()
    )


@dataclass(frozen=True)
class SigningKey:
    """One HMAC key and the id its signatures carry; "" signs in the pre-rotation form."""

    key_id: str
    secret: bytes

    def __post_init__(self) -> None:
        if len(self.secret) < 16:
            raise ValueError("the signing secret must be at least 16 bytes")
        if not is_key_id(self.key_id):
            raise ValueError(f"key id '{self.key_id}' must be 1-8 lower-case letters or digits")


class Signer:
    """The gateway's one HMAC: SHA-256 over a text (RFC 2104), in lower-case base32.

    Reply tokens and survey links both sign with it; each signs its own kind of
    text (`reply:TG-00042:` vs `survey:7:TG-00042`), so one can never stand in for
    the other. Signatures already in mail depend on this exact encoding.

    Keys rotate without breaking open threads: new signatures are made with the
    current key and carry its id (`k2_<mac>`); old keys verify only. A key with id
    "" signs as before rotation existed (a bare `<mac>`), so configs without key
    ids keep every token already in mail valid.
    """

    def __init__(self, secret: bytes | SigningKey, old_keys: Sequence[SigningKey] = ()) -> None:
        self._current = secret if isinstance(secret, SigningKey) else SigningKey("", secret)
        self._keys = {key.key_id: key for key in (*old_keys, self._current)}

    @staticmethod
    def _mac(key: SigningKey, text: str, chars: int) -> str:
        mac = hmac.new(key.secret, text.encode(), hashlib.sha256).digest()
        return base64.b32encode(mac).decode().lower()[:chars]

    def sign(self, text: str, chars: int) -> str:
        mac = self._mac(self._current, text, chars)
        key_id = self._current.key_id
        return f"{key_id}{_KEY_ID_SEPARATOR}{mac}" if key_id else mac

    def verify(self, text: str, signature: str, chars: int) -> bool:
        key_id, separator, mac = signature.lower().rpartition(_KEY_ID_SEPARATOR)
        key = self._keys.get(key_id if separator else "")
        if key is None:
            return False
        return hmac.compare_digest(self._mac(key, text, chars), mac)


class ReplyTokens:
    """Issues and verifies the plus-address tokens for one secret."""

    def __init__(self, secret: bytes | Signer) -> None:
        self._signer = secret if isinstance(secret, Signer) else Signer(secret)

    def _signature(self, purpose: str, ref: TicketRef, holder: str = "") -> str:
        return self._signer.sign(f"{purpose}:{ref}:{holder.lower()}", _SIGNATURE_CHARS)

    def token_for(
        self, ref: TicketRef, purpose: TokenPurpose = TokenPurpose.REPLY, holder: str = ""
    ) -> str:
        """A token for `ref`; agent and note tokens are bound to the agent (`holder`)."""
        base = f"{str(ref).lower()}.{self._signature(purpose.value, ref, holder)}"
        return base if purpose is TokenPurpose.REPLY else f"{base}.{purpose.value}"

    def read(self, token: str, sender: str = "") -> TokenClaim | None:
        """What a token grants `sender`, or None when malformed, forged or someone else's."""
        parts = token.strip().lower().split(".")
        if len(parts) == 2:
            purpose, holder = TokenPurpose.REPLY, ""
        elif len(parts) == 3 and parts[2] in (TokenPurpose.AGENT, TokenPurpose.NOTE):
            purpose, holder = TokenPurpose(parts[2]), sender
        else:
            return None
        ref = TicketRef.parse(parts[0])
        if ref is None:
            return None
        signed = self._signer.verify(
            f"{purpose.value}:{ref}:{holder.lower()}", parts[1], _SIGNATURE_CHARS
        )
        return TokenClaim(ref, purpose) if signed else None

    def verify(
        self, token: str, purpose: TokenPurpose = TokenPurpose.REPLY, sender: str = ""
    ) -> TicketRef | None:
        """The ticket a token names for `purpose`, or None."""
        claim = self.read(token, sender)
        return claim.ref if claim and claim.purpose is purpose else None

    def reply_address(
        self,
        support_address: str,
        ref: TicketRef,
        purpose: TokenPurpose = TokenPurpose.REPLY,
        holder: str = "",
    ) -> str:
        local, _, domain = support_address.partition("@")
        return f"{local}+{self.token_for(ref, purpose, holder)}@{domain}"
