"""The pages of the links in a customer's status mail: approve the solution or say it is
not solved, and ask for escalation (gateway/lifecycle/ticket_links.py signs them).

A GET shows a confirmation page and changes nothing: mail scanners and link previews
fetch every link in a mail, and only a person presses the page's button. The button's
POST records, through the lifecycle, in one short transaction. A bad or forged token
gets a 404 page that reveals nothing; a ticket that moved on (closed, reopened) gets a
page saying so and the POST changes nothing, so a second click records nothing twice.
Each page marks its outcome in `<p id="result" data-result="…">` for tests and tools.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus

from sqlalchemy.orm import Session

from gateway.domain import TicketRecord, TicketStatus
from gateway.domain.customer_intent import Verdict
from gateway.lifecycle.escalation import EscalationOutcome, EscalationResult
from gateway.lifecycle.ticket_links import LinkPurpose, TicketLinks
from gateway.mail.labels import TICKET_PAGE_TEXT, Words
from gateway.runtime.http import LinkPages, Page
from storage.repository import TicketRepository

ANSWERS = (Verdict.APPROVED, Verdict.NOT_SOLVED)


@dataclass(frozen=True)
class Screen:
    """What one page shows: the ticket, then a result or the confirmation forms."""

    ticket: TicketRecord | None
    result: str = ""  # a TICKET_PAGE_TEXT key, also the page's data-result
    forms: tuple[str, ...] = ()  # the answers offered, each a form with one button
    values: tuple[tuple[str, str], ...] = ()  # what fills the result's `{…}`


class TicketPages(LinkPages[TicketLinks]):
    """Answers ticket-link requests (approve, not solved, escalate)."""

    def handle(
        self,
        purpose: LinkPurpose,
        token: str,
        params: dict[str, str],
        *,
        post: bool,
        lang: str | None = None,
    ) -> Page:
        parts = self.actions.parts
        words = Words(
            lang if lang in TICKET_PAGE_TEXT else self.locale,
            parts.policy().calendar.zone,
            parts.labels(),
        )
        ref = self.links.ref(purpose, token)
        if ref is None:
            return Page(HTTPStatus.NOT_FOUND, _render(words, purpose, token, Screen(None)))
        now = self.clock.now()  # one instant for the whole request
        with self.db.transaction() as session:
            ticket = TicketRepository(session).get(ref)
            if ticket is None:
                return Page(HTTPStatus.NOT_FOUND, _render(words, purpose, token, Screen(None)))
            if purpose is LinkPurpose.RESOLUTION:
                answer = _verdict(params.get("answer", ""))
                screen = self._resolution(session, ticket, answer, now, post=post, words=words)
            else:
                screen = self._escalation(session, ticket, now, post=post, words=words)
        return Page(HTTPStatus.OK, _render(words, purpose, token, screen))

    def _resolution(
        self, session: Session, ticket: TicketRecord, answer: Verdict | None, now: datetime,
        *, post: bool, words: Words,
    ) -> Screen:  # fmt: skip
        """Confirm (GET) or record (POST) the customer's answer to a resolved ticket."""
        if ticket.status is not TicketStatus.RESOLVED:
            return _not_awaiting(ticket, words)
        if not post or answer is None:
            offered = (answer,) if answer is not None else ANSWERS
            return Screen(ticket, forms=tuple(a.value for a in offered))
        recorded = self.actions.answer_resolution(
            session, ticket.ref, answer, now, channel="link", actor=ticket.requester
        )
        if not recorded:
            return _not_awaiting(ticket, words)
        return Screen(ticket, result=answer.value)

    def _escalation(
        self, session: Session, ticket: TicketRecord, now: datetime, *, post: bool, words: Words
    ) -> Screen:
        """Confirm (GET) or ask (POST) for the ticket to go one level up."""
        if ticket.status is TicketStatus.CLOSED:
            return Screen(ticket, result="closed")
        if not post:
            return Screen(ticket, forms=("escalation",))
        outcome = self.actions.customer_escalation(
            session,
            ticket.ref,
            now,
            actor=ticket.requester,
            author=ticket.requester_name or ticket.requester,
            channel="link",
            text=TICKET_PAGE_TEXT[self.locale]["link_request"],  # the agents' words
        )
        return _escalation_screen(ticket, outcome, words)


def _verdict(value: str) -> Verdict | None:
    return next((a for a in ANSWERS if a.value == value.strip().lower()), None)


def _not_awaiting(ticket: TicketRecord, words: Words) -> Screen:
    return Screen(
        ticket, result="not_awaiting", values=(("status", words.status(ticket.status.value)),)
    )


def _escalation_screen(ticket: TicketRecord, outcome: EscalationOutcome, words: Words) -> Screen:
    if outcome.result is EscalationResult.CLOSED:
        return Screen(ticket, result="closed")
    if outcome.result is EscalationResult.TOO_SOON:
        when = (("earlier", words.when(outcome.earlier)),
                ("next_allowed", words.when(outcome.next_allowed)))  # fmt: skip
        return Screen(ticket, result="too_soon", values=when)
    return Screen(ticket, result="escalated", values=(("level", outcome.level),))


def _render(words: Words, purpose: LinkPurpose, token: str, screen: Screen) -> str:
    text = words.ticket_page()
    esc = html.escape
    title = text[purpose.value]
    parts = [
        f'<!DOCTYPE html><html lang="{"pt-BR" if words.locale == "pt_BR" else "en"}"><head>'
        '<meta charset="utf-8"><meta name="viewport" content="width=device-width, '
        f'initial-scale=1"><title>{esc(title)}</title></head>'
        '<body style="font-family: Arial, sans-serif; max-width: 40em; margin: 2em auto;">',
        f"<h1>{esc(title)}</h1>",
    ]
    ticket = screen.ticket
    if ticket is None:
        parts.append(f'<p id="result" data-result="invalid">{esc(text["invalid"])}</p>')
        return "".join([*parts, "</body></html>"])
    parts.append(f"<p>{esc(text['ticket'])} {esc(str(ticket.ref))}: {esc(ticket.subject)}</p>")
    action = f"/{purpose.value}/{esc(token)}"
    for form in screen.forms:
        parts.append(
            f'<form method="post" action="{action}" id="confirm-{esc(form)}">'
            f'<input type="hidden" name="answer" value="{esc(form)}">'
            f"<p>{esc(text['ask_' + form])}</p>"
            f'<p><button type="submit">{esc(text["button_" + form])}</button></p></form>'
        )
    if screen.result:
        message = text[screen.result].format(**dict(screen.values))
        parts.append(f'<p id="result" data-result="{screen.result}">{esc(message)}</p>')
    return "".join([*parts, "</body></html>"])

