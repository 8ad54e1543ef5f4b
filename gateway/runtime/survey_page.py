"""The satisfaction survey's page (seed 002), opened from the links of the survey mail.

A GET shows both questions; `?rating=N` or `?met=yes|no` (the mail's one-click links)
pre-select that choice, and nothing is recorded, since link scanners fetch every link in
a mail. Only the page's POST, carrying the link's CSRF token, records through the
lifecycle, once: an answered survey is final, and a later POST (or GET) shows what was
recorded. The link names one survey of one ticket for its requester
(gateway/lifecycle/surveys.py).
"""

from __future__ import annotations

from http import HTTPStatus

from gateway.lifecycle.surveys import SurveyAnswer, SurveyLinks
from gateway.lifecycle.ticket_links import LinkPurpose
from gateway.runtime.pages import LinkPages, Page, PageRequest, csrf_ok, forbidden, not_found
from storage.lifecycle import LifecycleStore
from storage.records import SurveyRecord
from storage.repository import TicketRepository

RATINGS = ("1", "2", "3", "4", "5")
YES_NO = {"yes": True, "sim": True, "no": False, "nao": False, "não": False}


class SurveyPages(LinkPages[SurveyLinks]):
    """Answers survey requests."""

    def handle(self, request: PageRequest) -> Page:
        claim = SurveyLinks.claim(request.token)
        if claim is None:
            return not_found()
        now = self.clock.now()
        with self.db.transaction() as session:
            store = LifecycleStore(session)
            survey = store.survey(claim.id, lock=request.post)
            ticket = TicketRepository(session).get(survey.ref) if survey else None
            if survey is None or ticket is None:
                return not_found()
            person = ticket.requester
            if not self.links.verify(claim, survey.id, survey.ref, person, now):
                return not_found()
            if request.post and not csrf_ok(self.links.codec, request):
                return forbidden()
            result = ""
            if request.post and survey.answered_at is None:
                answer = _answer(request.form)
                if answer.empty and not answer.comment:
                    return Page(HTTPStatus.BAD_REQUEST, "error", {"kind": "bad_request"})
                self.actions.record_survey_answer(
                    session, survey.id, survey.ref, answer, "link", person, now
                )
                survey = store.survey(survey.id)
                assert survey is not None
                result = "thanks"
        back = self.actions.parts.ticket_links.path(LinkPurpose.TICKET, survey.ref, person,
                                                    claim.expires)  # fmt: skip
        return self.page(
            HTTPStatus.OK,
            "survey",
            ticket={"ref": str(survey.ref), "subject": ticket.subject},
            action=f"/survey/{request.token}",
            csrf=self.links.codec.csrf(request.token),
            back=back,
            result=result,
            chosen_rating=_rating(request.query.get("rating", "")),
            chosen_met=_met_key(request.query.get("met", "")),
            **_recorded(survey),
        )


def _rating(text: str) -> int | None:
    return int(text.strip()) if text.strip() in RATINGS else None


def _met_key(text: str) -> str:
    met = YES_NO.get(text.strip().lower())
    return "" if met is None else ("yes" if met else "no")


def _answer(form: dict[str, str]) -> SurveyAnswer:
    met = YES_NO.get(form.get("met", "").strip().lower())
    comment = form.get("comment", "").strip()[:4000]
    return SurveyAnswer(_rating(form.get("rating", "")), met, comment)


def _recorded(survey: SurveyRecord) -> dict[str, object]:
    met = survey.met_expectation
    return {
        "recorded": survey.answered_at is not None,
        "rating": survey.rating,
        "met": "" if met is None else ("yes" if met else "no"),
        "comment": survey.comment,
    }
