"""Recipient addresses of the official channel, parsed once into a typed value.

`suporte+<tag>@example.com` is the support address with a sub-address tag
(RFC 5233); the tag carries a reply token. Used by the SMTP listener to
accept RCPT and by thread detection to find the token.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class SupportRecipient:
    """A recipient that is one of our support addresses, with its tag if any."""

    address: str
    tag: str | None


def parse_support_recipient(
    recipient: str, support_addresses: Iterable[str]
) -> SupportRecipient | None:
    """The support address `recipient` reaches, or None if it is not ours."""
    candidate = recipient.strip().strip("<>").lower()
    local, at, domain = candidate.rpartition("@")
    if not at:
        return None
    base_local, plus, tag = local.partition("+")
    for support in support_addresses:
        support_local, _, support_domain = support.lower().partition("@")
        if support_domain == domain and support_local == base_local:
            return SupportRecipient(support.lower(), tag if plus and tag else None)
    return None
