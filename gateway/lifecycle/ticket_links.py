"""Signed links in a customer's status mail: approve the solution, say it is not solved,
ask for escalation.

Like the survey links (surveys.py) they are signed with the gateway's one `Signer`
(gateway/domain/signing.py), here over `<purpose>:<ticket ref>`: a link names one ticket
for one purpose, so it can be neither forged, nor pointed at another ticket, nor turned
from an approval into an escalation. A token is `<ticket number>.<signature>`. The pages
they open (gateway/runtime/ticket_pages.py) change nothing on GET, since mail scanners
and link previews follow links; only the customer's POST from the page records.
"""

from __future__ import annotations

from enum import StrEnum

from gateway.domain import TicketRef
from gateway.domain.customer_intent import Verdict, fold
from gateway.domain.signing import Signer
from gateway.mail.contexts import CustomerActions

_SIGNATURE_CHARS = 22  # 110 bits of base32, as the survey links
# What a mail suggests writing to escalate, per locale, when policy.yaml lists it.
SUGGESTED_PHRASE = {"pt_BR": "quero escalar", "en": "please escalate"}


class LinkPurpose(StrEnum):
    """What a ticket link is for; also the first segment of its path."""

    RESOLUTION = "resolution"
    ESCALATION = "escalation"


class TicketLinks:
    """Signs and verifies ticket links with the gateway's signer."""

    def __init__(self, signer: Signer, public_url: str) -> None:
        self._signer = signer
        self.public_url = public_url.rstrip("/")

    def _signature(self, purpose: LinkPurpose, ref: TicketRef) -> str:
        return self._signer.sign(f"{purpose.value}:{ref}", _SIGNATURE_CHARS)

    def token(self, purpose: LinkPurpose, ref: TicketRef) -> str:
        return f"{ref.number}.{self._signature(purpose, ref)}"

    def ref(self, purpose: LinkPurpose, token: str) -> TicketRef | None:
        """The ticket a token was signed for, or None when malformed or forged."""
        head, dot, signature = token.partition(".")
        if not dot or not head.isdigit() or len(head) > 12:
            return None
        ref = TicketRef(int(head))
        signed = self._signer.verify(f"{purpose.value}:{ref}", signature, _SIGNATURE_CHARS)
        return ref if signed else None

    def url(self, purpose: LinkPurpose, ref: TicketRef, answer: str = "") -> str:
        page = f"{self.public_url}/{purpose.value}/{self.token(purpose, ref)}"
        return f"{page}?answer={answer}" if answer else page

    def actions(self, ref: TicketRef, locale: str, phrases: tuple[str, ...]) -> CustomerActions:
        """A status mail's links, and a phrase that escalates by reply ("" when none is read:
        `customer_phrases: []`)."""
        suggested = SUGGESTED_PHRASE.get(locale, "")
        folded = {fold(p).strip() for p in phrases}
        phrase = suggested if fold(suggested) in folded else (phrases[0] if phrases else "")
        return CustomerActions(
            approve_url=self.url(LinkPurpose.RESOLUTION, ref, Verdict.APPROVED.value),
            not_solved_url=self.url(LinkPurpose.RESOLUTION, ref, Verdict.NOT_SOLVED.value),
            escalate_url=self.url(LinkPurpose.ESCALATION, ref),
            escalate_phrase=phrase,
        )
