"""Signed links in a customer's mail: the ticket's status page, approve the solution or
say it is not solved, ask for escalation, answer the survey.

Every link is signed with the gateway's one `Signer` (gateway/domain/signing.py) over
`<purpose>:<id>:<ticket ref>:<person>:<expiry day>`: it names one ticket (or one survey
of it) for one purpose, for the person it was mailed to, until a day. So it can be
neither forged, nor pointed at another ticket, nor turned from an approval into an
escalation, nor kept forever. A token is `<id>.<expiry day>.<signature>` (the id is the
ticket's number, or the survey's; the day counts from 1970-01-01 UTC). The pages they
open (gateway/runtime/status_pages.py, survey_page.py) change nothing on GET, since mail
scanners and link previews follow links; only the person's POST from the page records.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from gateway.domain import TicketRef
from gateway.domain.customer_intent import Verdict, fold
from gateway.domain.signing import Signer
from gateway.mail.contexts import CustomerActions

_SIGNATURE_CHARS = 22  # 110 bits of base32
DEFAULT_LINK_DAYS = 60  # `[http] link_days`: every mail carries fresh links
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# What a mail suggests writing to escalate, per locale, when policy.yaml lists it.
SUGGESTED_PHRASE = {"pt_BR": "quero escalar", "en": "please escalate"}


class LinkPurpose(StrEnum):
    """What a link is for; also the first segment of its path."""

    TICKET = "ticket"  # the status page
    RESOLUTION = "resolution"
    ESCALATION = "escalation"
    SURVEY = "survey"


@dataclass(frozen=True)
class LinkClaim:
    """What a token claims before it is verified: the id it names and its expiry day."""

    id: int
    expires: int
    signature: str

    @classmethod
    def parse(cls, token: str) -> LinkClaim | None:
        parts = token.split(".")
        if len(parts) != 3 or not all(p.isdigit() and len(p) < 12 for p in parts[:2]):
            return None
        return cls(int(parts[0]), int(parts[1]), parts[2])

    def expired(self, now: datetime) -> bool:
        return _day(now) > self.expires


def _day(instant: datetime) -> int:
    return (instant.astimezone(UTC) - _EPOCH).days


class LinkCodec:
    """Signs and verifies link tokens for one signer and one lifetime."""

    def __init__(self, signer: Signer, days: int = DEFAULT_LINK_DAYS) -> None:
        self._signer = signer
        self.days = days

    def _text(self, purpose: LinkPurpose, id: int, ref: TicketRef, person: str, day: int) -> str:
        return f"{purpose.value}:{id}:{ref}:{person.strip().lower()}:{day}"

    def expiry(self, now: datetime) -> int:
        return _day(now + timedelta(days=self.days))

    def token(
        self, purpose: LinkPurpose, id: int, ref: TicketRef, person: str, expires: int
    ) -> str:
        signature = self._signer.sign(self._text(purpose, id, ref, person, expires),
                                      _SIGNATURE_CHARS)  # fmt: skip
        return f"{id}.{expires}.{signature}"

    def verify(
        self, purpose: LinkPurpose, claim: LinkClaim, ref: TicketRef, person: str, now: datetime
    ) -> bool:
        """True when `claim` was signed for this purpose, id, ticket and person and has not
        expired at `now`."""
        if claim.expired(now):
            return False
        text = self._text(purpose, claim.id, ref, person, claim.expires)
        return self._signer.verify(text, claim.signature, _SIGNATURE_CHARS)

    def csrf(self, token: str) -> str:
        """The form field a page's POST must carry: an HMAC of the link's token, so a form
        can only be posted by someone who opened the link."""
        return self._signer.sign(f"csrf:{token}", _SIGNATURE_CHARS)

    def csrf_ok(self, token: str, value: str) -> bool:
        return self._signer.verify(f"csrf:{token}", value, _SIGNATURE_CHARS)


class TicketLinks:
    """The links of one ticket, for the person a mail goes to."""

    def __init__(self, signer: Signer, public_url: str, days: int = DEFAULT_LINK_DAYS) -> None:
        self.codec = LinkCodec(signer, days)
        self.public_url = public_url.rstrip("/")

    def token(
        self, purpose: LinkPurpose, ref: TicketRef, person: str, *, expires: int
    ) -> str:
        return self.codec.token(purpose, ref.number, ref, person, expires)

    def claim(self, purpose: LinkPurpose, token: str) -> LinkClaim | None:
        """The ticket number a token claims, not yet verified (look the ticket up, then
        `verify` against its requester)."""
        return None if purpose is LinkPurpose.SURVEY else LinkClaim.parse(token)

    def verify(
        self, purpose: LinkPurpose, claim: LinkClaim, ref: TicketRef, person: str, now: datetime
    ) -> bool:
        return claim.id == ref.number and self.codec.verify(purpose, claim, ref, person, now)

    def path(self, purpose: LinkPurpose, ref: TicketRef, person: str, expires: int) -> str:
        """The link's path (the pages link to each other with the same expiry)."""
        return f"/{purpose.value}/{self.token(purpose, ref, person, expires=expires)}"

    def url(
        self, purpose: LinkPurpose, ref: TicketRef, person: str, now: datetime, answer: str = ""
    ) -> str:
        page = self.public_url + self.path(purpose, ref, person, self.codec.expiry(now))
        return f"{page}?answer={answer}" if answer else page

    def status_url(self, ref: TicketRef, person: str, now: datetime) -> str:
        """The ticket's status page, carried in every mail the customer gets."""
        return self.url(LinkPurpose.TICKET, ref, person, now)

    def actions(
        self,
        ref: TicketRef,
        locale: str,
        phrases: tuple[str, ...],
        person: str,
        now: datetime,
    ) -> CustomerActions:
        """A status mail's links, and a phrase that escalates by reply ("" when none is read:
        `customer_phrases: []`)."""
        suggested = SUGGESTED_PHRASE.get(locale, "")
        folded = {fold(p).strip() for p in phrases}
        phrase = suggested if fold(suggested) in folded else (phrases[0] if phrases else "")
        resolution = LinkPurpose.RESOLUTION
        return CustomerActions(
            approve_url=self.url(resolution, ref, person, now, Verdict.APPROVED.value),
            not_solved_url=self.url(resolution, ref, person, now, Verdict.NOT_SOLVED.value),
            escalate_url=self.url(LinkPurpose.ESCALATION, ref, person, now),
            escalate_phrase=phrase,
        )
