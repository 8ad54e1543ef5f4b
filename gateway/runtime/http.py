"""The small HTTP endpoint inside `serve`: survey pages, ticket pages, /healthz and /metrics.

Mail carries one-click links (`/survey/<token>?rating=5`, `?met=yes`); this
module serves them with the standard library's threading HTTP server in its
own thread, so nothing here touches the event loop. Each request that
answers is one short transaction: verify the token against the survey it
names (gateway/surveys.py), record the answer with an event, render a page
in the gateway's locale that thanks the customer and shows what is recorded.
A bad or forged token gets a 404 page that reveals nothing. The links of status
mail (`/resolution/<token>`, `/escalation/<token>`) are answered by
gateway/runtime/ticket_pages.py: a confirmation page on GET, recorded on POST.
"""

from __future__ import annotations

import html
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Generic, TypeVar
from urllib.parse import parse_qs, urlsplit

from gateway.domain import Clock
from gateway.lifecycle.actions import LifecycleActions
from gateway.lifecycle.surveys import SurveyAnswer, SurveyLinks
from gateway.lifecycle.ticket_links import LinkPurpose
from gateway.mail.labels import PAGE_TEXT
from storage.db import Database
from storage.lifecycle import LifecycleStore, SurveyRecord

if TYPE_CHECKING:  # ticket_pages builds on this module's Page
    from gateway.runtime.ticket_pages import TicketPages

log = logging.getLogger(__name__)

MAX_BODY = 16_384


@dataclass(frozen=True)
class Page:
    status: int
    body: str


L = TypeVar("L")


class LinkPages(Generic[L]):
    """What every page behind a signed link needs: the store, the links' verifier, the
    lifecycle that records the answer, the clock and the default locale. A use case per
    request, no HTTP in here."""

    def __init__(
        self, db: Database, links: L, actions: LifecycleActions, clock: Clock, locale: str
    ) -> None:
        self.db = db
        self.links = links
        self.actions = actions
        self.clock = clock
        self.locale = locale


class SurveyPages(LinkPages[SurveyLinks]):
    """Answers survey requests."""

    def handle(self, token: str, params: dict[str, str], lang: str | None = None) -> Page:
        words = PAGE_TEXT[lang if lang in PAGE_TEXT else self.locale]
        answer = _answer(params)
        survey_id = SurveyLinks.survey_id(token)
        if survey_id is None:
            return Page(HTTPStatus.NOT_FOUND, _page(words, words["invalid"], None, token, False))
        now = self.clock.now()
        with self.db.transaction() as session:
            store = LifecycleStore(session)
            survey = store.survey(survey_id, lock=not answer.empty or bool(answer.comment))
            if survey is None or not self.links.verify(token, survey.id, survey.ref):
                return Page(
                    HTTPStatus.NOT_FOUND, _page(words, words["invalid"], None, token, False)
                )
            recorded = False
            if not answer.empty or answer.comment:
                self.actions.record_survey_answer(
                    session, survey.id, survey.ref, answer, "link", "survey-link", now
                )
                survey = store.survey(survey.id)
                assert survey is not None
                recorded = True
        return Page(HTTPStatus.OK, _page(words, words["title"], survey, token, recorded))


def _answer(params: dict[str, str]) -> SurveyAnswer:
    rating_text = params.get("rating", "").strip()
    rating = int(rating_text) if rating_text in {"1", "2", "3", "4", "5"} else None
    met_text = params.get("met", "").strip().lower()
    met = True if met_text in ("yes", "sim") else False if met_text in ("no", "nao") else None
    return SurveyAnswer(rating, met, params.get("comment", "").strip()[:4000])


def _page(
    words: dict[str, str], heading: str, survey: SurveyRecord | None, token: str, thanked: bool
) -> str:
    esc = html.escape
    lang = "pt-BR" if words is PAGE_TEXT["pt_BR"] else "en"
    parts = [
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(words['title'])}</title></head>"
        '<body style="font-family: Arial, sans-serif; max-width: 40em; margin: 2em auto;">',
        f"<h1>{esc(heading)}</h1>",
    ]
    if survey is None:
        parts.append("</body></html>")
        return "".join(parts)
    if thanked:
        parts.append(f'<p id="thanks"><strong>{esc(words["thanks"])}</strong></p>')
    parts.append(f"<p>{esc(words['ticket'])} {esc(str(survey.ref))}</p>")
    base = f"/survey/{esc(token)}"
    rating_links = " ".join(
        f'<a href="{base}?rating={n}"><strong>{n}</strong></a>'
        if survey.rating == n
        else f'<a href="{base}?rating={n}">{n}</a>'
        for n in range(1, 6)
    )
    parts.append(f"<p>1. {esc(words['q1'])}</p><p>{rating_links}</p>")
    yes_no = " ".join(
        f'<a href="{base}?met={value}">'
        f"{'<strong>' if survey.met_expectation is flag else ''}{esc(words[value])}"
        f"{'</strong>' if survey.met_expectation is flag else ''}</a>"
        for value, flag in (("yes", True), ("no", False))
    )
    parts.append(f"<p>2. {esc(words['q2'])}</p><p>{yes_no}</p>")
    parts.append(
        f'<form method="post" action="{base}"><p><label>{esc(words["comment"])}<br>'
        f'<textarea name="comment" rows="4" cols="60">{esc(survey.comment)}</textarea>'
        f'</label></p><p><button type="submit">{esc(words["send"])}</button></p></form>'
    )
    met = "" if survey.met_expectation is None else ("yes" if survey.met_expectation else "no")
    parts.append(
        f'<p id="recorded" data-rating="{survey.rating or ""}" data-met="{met}">'
        f"{esc(words['recorded'])}: {survey.rating or '-'} / "
        f"{esc(words[met]) if met else '-'}</p>"
    )
    parts.append("</body></html>")
    return "".join(parts)


class HttpEndpoint:
    """A ThreadingHTTPServer on its own thread; `start()` binds, `stop()` shuts down."""

    def __init__(
        self,
        pages: SurveyPages,
        host: str,
        port: int,
        metrics: Callable[[], str] = lambda: "",
        tickets: TicketPages | None = None,
    ) -> None:
        self.pages = pages
        self.tickets = tickets
        self.metrics = metrics
        self.host = host
        self.port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> tuple[str, int]:
        pages = self.pages
        tickets = self.tickets
        metrics = self.metrics

        class Handler(BaseHTTPRequestHandler):
            server_version = "ticketgate"
            sys_version = ""

            def log_message(self, format: str, *args: object) -> None:
                log.debug("http %s %s", self.address_string(), format % args)

            def _send(self, page: Page, content_type: str = "text/html; charset=utf-8") -> None:
                data = page.body.encode()
                self.send_response(page.status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")
                self.send_header("Referrer-Policy", "no-referrer")
                self.send_header("X-Content-Type-Options", "nosniff")
                self.end_headers()
                self.wfile.write(data)

            def _route(self, params: dict[str, str], *, post: bool = False) -> None:
                url = urlsplit(self.path)
                if url.path == "/healthz":
                    self._send(Page(HTTPStatus.OK, "ok\n"), "text/plain; charset=utf-8")
                    return
                if url.path == "/metrics":
                    try:
                        page = Page(HTTPStatus.OK, metrics())
                    except Exception:
                        log.exception("metrics failed")
                        page = Page(HTTPStatus.SERVICE_UNAVAILABLE, "# store unavailable\n")
                    # Prometheus text exposition format, version 0.0.4.
                    self._send(page, "text/plain; version=0.0.4; charset=utf-8")
                    return
                if url.path.startswith("/survey/"):
                    token = url.path.removeprefix("/survey/").strip("/")
                    query = {k: v[-1] for k, v in parse_qs(url.query).items()}
                    lang = query.pop("lang", None)
                    try:
                        page = pages.handle(token, {**query, **params}, lang)
                    except Exception:
                        log.exception("survey request failed")
                        page = Page(HTTPStatus.INTERNAL_SERVER_ERROR, "<h1>error</h1>")
                    self._send(page)
                    return
                purpose, _, token = url.path.strip("/").partition("/")
                if tickets is not None and purpose in ("resolution", "escalation") and token:
                    self._ticket_page(purpose, token, url.query, params, post)
                    return
                self._send(Page(HTTPStatus.NOT_FOUND, "<h1>404</h1>"))

            def _ticket_page(
                self, purpose: str, token: str, query: str, form: dict[str, str], post: bool
            ) -> None:
                assert tickets is not None
                params = {k: v[-1] for k, v in parse_qs(query).items()}
                lang = params.pop("lang", None)
                try:
                    page = tickets.handle(
                        LinkPurpose(purpose), token, {**params, **form}, post=post, lang=lang
                    )
                except Exception:
                    log.exception("ticket page request failed")
                    page = Page(HTTPStatus.INTERNAL_SERVER_ERROR, "<h1>error</h1>")
                self._send(page)

            def do_GET(self) -> None:
                self._route({})

            def do_POST(self) -> None:
                length = min(int(self.headers.get("Content-Length") or 0), MAX_BODY)
                form = parse_qs(self.rfile.read(length).decode("utf-8", "replace"))
                self._route({k: v[-1] for k, v in form.items()}, post=True)

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="http", daemon=True)
        self._thread.start()
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
