"""Thread detection: which existing ticket, if any, a mail belongs to.

Evidence is tried in order of trust (issue 2): a signed token in the
plus-address the mail was sent to, then In-Reply-To/References naming a
Message-ID the gateway sent or received (RFC 5322 section 3.6.4), then a
`[#REF]` subject tag. A forged or unknown token is ignored, not trusted.
Who may add to the matched ticket is decided later, by the pipeline.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from gateway.domain import ParsedMessage, ThreadMatch, ThreadSource, TicketRef, TokenClaim
from inbound.addressing import parse_support_recipient


class TokenVerifier(Protocol):
    def read(self, token: str, sender: str = "") -> TokenClaim | None: ...


class MessageIndex(Protocol):
    def ref_for_message_ids(self, message_ids: Sequence[str]) -> TicketRef | None: ...

    def ticket_exists(self, ref: TicketRef) -> bool: ...


def match_thread(
    msg: ParsedMessage,
    support_addresses: Sequence[str],
    tokens: TokenVerifier,
    index: MessageIndex,
) -> ThreadMatch | None:
    for recipient in msg.recipients:
        parsed = parse_support_recipient(recipient, support_addresses)
        if parsed and parsed.tag:
            claim = tokens.read(parsed.tag, msg.sender.address if msg.sender else "")
            if claim and index.ticket_exists(claim.ref):
                return ThreadMatch(claim.ref, ThreadSource.REPLY_TOKEN, claim.purpose)
    ref = index.ref_for_message_ids(msg.thread_ids)
    if ref:
        return ThreadMatch(ref, ThreadSource.HEADERS)
    ref = TicketRef.find_in_subject(msg.subject)
    if ref and index.ticket_exists(ref):
        return ThreadMatch(ref, ThreadSource.SUBJECT_TAG)
    return None
