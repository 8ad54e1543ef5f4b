"""The ticket's pages behind the links of customer mail: the status page (every mail
carries its link), approving the solution or saying it is not solved, and asking for
escalation (gateway/lifecycle/ticket_links.py signs them).

The status page shows the ticket's public conversation only (what the customer was sent
or wrote, never an internal note), its status in words, the agreed date and outcome
where set, and buttons for what the customer may do now; each button opens an action
page. An action page's GET shows a form and changes nothing: mail scanners and link
previews fetch every link in a mail, and only a person presses the button. The POST
carries the link's CSRF token and records through the lifecycle (the same use case as
the answer by mail) in one short transaction; a ticket that moved on gets a page saying
so and the POST changes nothing, so a second press records nothing twice. Each page marks
its outcome in `id="result" data-result="…"` for tests and tools.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from http import HTTPStatus

from sqlalchemy.orm import Session

from gateway.domain import Direction, TicketRecord, TicketRef, TicketStatus, Visibility
from gateway.domain.customer_intent import Verdict
from gateway.lifecycle.escalation import EscalationOutcome, EscalationResult
from gateway.lifecycle.ticket_links import LinkClaim, LinkPurpose, TicketLinks
from gateway.mail.labels import Words
from gateway.runtime.pages import LinkPages, Page, PageRequest, csrf_ok, forbidden, not_found
from storage.lifecycle import LifecycleStore
from storage.repository import NewMessage, TicketRepository

ANSWERS = (Verdict.APPROVED, Verdict.NOT_SOLVED)
CONVERSATION = 200  # public messages shown, the newest


class TicketPages(LinkPages[TicketLinks]):
    """Answers the status, approval and escalation pages."""

    def handle(self, purpose: LinkPurpose, request: PageRequest) -> Page:
        claim = self.links.claim(purpose, request.token)
        if claim is None:
            return not_found()
        now = self.clock.now()  # one instant for the whole request
        words = self.words()
        with self.db.transaction() as session:
            ticket = TicketRepository(session).get(TicketRef(claim.id))
            if ticket is None or not self.links.verify(
                purpose, claim, ticket.ref, ticket.requester, now
            ):
                return not_found()
            if request.post and not csrf_ok(self.links.codec, request):
                return forbidden()
            if purpose is LinkPurpose.TICKET:
                return self._status(session, ticket, claim, words)
            if purpose is LinkPurpose.RESOLUTION:
                return self._resolution(session, ticket, claim, request, now, words)
            return self._escalation(session, ticket, claim, request, now, words)

    def _common(
        self, ticket: TicketRecord, claim: LinkClaim, purpose: LinkPurpose
    ) -> dict[str, object]:
        """What every action page shows: the ticket, where its form posts (with the form's
        token) and the way back to the status page, all with this link's expiry."""
        links, person = self.links, ticket.requester
        return {
            "ticket": {"ref": str(ticket.ref), "subject": ticket.subject},
            "action": links.path(purpose, ticket.ref, person, claim.expires),
            "back": links.path(LinkPurpose.TICKET, ticket.ref, person, claim.expires),
            "csrf": links.codec.csrf(links.token(purpose, ticket.ref, person,
                                                 expires=claim.expires)),
        }  # fmt: skip

    # --- the status page ---------------------------------------------------------------

    def _status(
        self, session: Session, ticket: TicketRecord, claim: LinkClaim, words: Words
    ) -> Page:
        store = LifecycleStore(session)
        conversation = [
            {
                "at": words.when(at),
                "who": words.who(direction),
                "outbound": direction == Direction.OUTBOUND.value,
                "text": body,
            }
            for at, direction, body in store.public_history(ticket.ref, CONVERSATION)
        ]
        outcome = self.actions.parts.policy().outcome_text(ticket.outcome, self.locale)
        facts = {
            "ref": str(ticket.ref),
            "subject": ticket.subject,
            "status": ticket.status.value,
            "status_label": words.status(ticket.status.value),
            "created": words.when(ticket.created_at),
            "due": words.when(ticket.due_at) if ticket.due_at else "",
            "outcome": outcome if ticket.outcome else "",
        }
        return self.page(
            HTTPStatus.OK,
            "ticket",
            ticket=facts,
            conversation=conversation,
            actions=self._buttons(store, ticket, claim),
        )

    def _buttons(
        self, store: LifecycleStore, ticket: TicketRecord, claim: LinkClaim
    ) -> list[dict[str, str]]:
        """What the customer may do now, each an action page's link with this link's
        expiry (a status link never mints longer-lived ones)."""
        links, person, expires = self.links, ticket.requester, claim.expires
        buttons = []
        if ticket.status is TicketStatus.RESOLVED:
            page = links.path(LinkPurpose.RESOLUTION, ticket.ref, person, expires)
            buttons += [
                {"id": answer.value, "href": f"{page}?answer={answer.value}"}
                for answer in ANSWERS
            ]
        if ticket.status is not TicketStatus.CLOSED:
            page = links.path(LinkPurpose.ESCALATION, ticket.ref, person, expires)
            buttons.append({"id": "escalation", "href": page})
        survey = store.latest_survey(ticket.ref)
        if ticket.status is TicketStatus.CLOSED and survey and survey.answered_at is None:
            page = self.actions.parts.links.path(survey.id, ticket.ref, person, expires)
            buttons.append({"id": "survey", "href": page})
        return buttons

    # --- approving the solution ---------------------------------------------------------

    def _resolution(
        self, session: Session, ticket: TicketRecord, claim: LinkClaim, request: PageRequest,
        now: datetime, words: Words,
    ) -> Page:  # fmt: skip
        """Confirm (GET) or record (POST) the customer's answer to a resolved ticket."""
        context = self._common(ticket, claim, LinkPurpose.RESOLUTION)
        status = {"status": words.status(ticket.status.value)}
        if ticket.status is not TicketStatus.RESOLVED:
            return self.page(HTTPStatus.OK, "resolution", **context, forms=[],
                             result="not_awaiting", values=status)  # fmt: skip
        params = request.form if request.post else request.query
        answer = _verdict(params.get("answer", ""))
        if not request.post or answer is None:
            offered = (answer,) if answer is not None else ANSWERS
            return self.page(HTTPStatus.OK, "resolution", **context, result="", values={},
                             forms=[a.value for a in offered])  # fmt: skip
        recorded = self.actions.answer_resolution(
            session, ticket.ref, answer, now, channel="link", actor=ticket.requester
        )
        if not recorded:
            return self.page(HTTPStatus.OK, "resolution", **context, forms=[],
                             result="not_awaiting", values=status)  # fmt: skip
        text = request.text("text")
        if answer is Verdict.NOT_SOLVED and text:
            _customer_wrote(session, ticket, text, now)
        return self.page(HTTPStatus.OK, "resolution", **context, forms=[], result=answer.value,
                         values={})  # fmt: skip

    # --- asking for escalation ----------------------------------------------------------

    def _escalation(
        self, session: Session, ticket: TicketRecord, claim: LinkClaim, request: PageRequest,
        now: datetime, words: Words,
    ) -> Page:  # fmt: skip
        """Confirm (GET) or ask (POST) for the ticket to go one level up."""
        context = self._common(ticket, claim, LinkPurpose.ESCALATION)
        if ticket.status is TicketStatus.CLOSED:
            return self.page(HTTPStatus.OK, "escalation", **context, forms=[], result="closed",
                             values={})  # fmt: skip
        if not request.post:
            return self.page(HTTPStatus.OK, "escalation", **context, forms=["escalation"],
                             result="", values={})  # fmt: skip
        text = request.text("text")
        outcome = self.actions.customer_escalation(
            session,
            ticket.ref,
            now,
            actor=ticket.requester,
            author=ticket.requester_name or ticket.requester,
            channel="link",
            text=text or words.link_request(),  # the agents' words
        )
        result, values = _escalation_result(outcome, words)
        return self.page(HTTPStatus.OK, "escalation", **context, forms=[], result=result,
                         values=values)  # fmt: skip


def _verdict(value: str) -> Verdict | None:
    return next((a for a in ANSWERS if a.value == value.strip().lower()), None)


def _customer_wrote(session: Session, ticket: TicketRecord, text: str, now: datetime) -> None:
    """What the customer typed on the page joins the public conversation, as a reply would."""
    TicketRepository(session).add_message(
        ticket.ref,
        NewMessage(
            message_id=f"<page-{uuid.uuid4().hex}@ticketgate.invalid>",
            direction=Direction.INBOUND,
            visibility=Visibility.PUBLIC,
            sender=ticket.requester,
            recipients=(),
            subject=ticket.subject,
            body=text,
        ),
        now,
    )


def _escalation_result(outcome: EscalationOutcome, words: Words) -> tuple[str, dict[str, str]]:
    if outcome.result is EscalationResult.CLOSED:
        return "closed", {}
    if outcome.result is EscalationResult.TOO_SOON:
        return "too_soon", {
            "earlier": words.when(outcome.earlier),
            "next_allowed": words.when(outcome.next_allowed),
        }
    return "escalated", {"level": outcome.level}
