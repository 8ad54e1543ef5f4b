"""What the customer pages share: a request as the pages see it, the page they answer with,
and the collaborators every page behind a signed link needs.

The web edge (gateway/runtime/web.py) turns an HTTP request into a `PageRequest` and a
`Page` into HTML through the page templates (`outbound/templates/<locale>/pages/`, the
admin's `templates/` folder overriding them like mail templates); the pages themselves
(status_pages.py, survey_page.py) know no HTTP library. Each request is one short
transaction; a forged, expired or other-ticket link gets the same 404 page, which names
nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from http import HTTPStatus
from typing import Generic, TypeVar

from gateway.domain import Clock
from gateway.lifecycle.actions import LifecycleActions
from gateway.lifecycle.ticket_links import LinkCodec
from gateway.mail.labels import Words
from storage.db import Database

MAX_TEXT = 4000  # characters kept of a text box (the survey comment, "what still happens")


@dataclass(frozen=True)
class PageRequest:
    """One request to a page behind a link: its token, the query and (on POST) the form."""

    token: str
    query: dict[str, str] = field(default_factory=dict)
    form: dict[str, str] = field(default_factory=dict)
    post: bool = False

    def text(self, name: str) -> str:
        return self.form.get(name, "").strip()[:MAX_TEXT]


@dataclass(frozen=True)
class Page:
    """A page to render: its template (`pages/<template>.html.j2`), what fills it, and the
    locale it is written in."""

    status: int
    template: str
    context: dict[str, object] = field(default_factory=dict)
    locale: str = ""


def not_found() -> Page:
    """The one answer to a link that is forged, expired, malformed or someone else's."""
    return Page(HTTPStatus.NOT_FOUND, "not_found")


def forbidden() -> Page:
    """A POST whose form token does not match its link (a cross-site form, a stale page)."""
    return Page(HTTPStatus.FORBIDDEN, "error", {"kind": "forbidden"})


L = TypeVar("L")


class LinkPages(Generic[L]):
    """What every page behind a signed link needs: the store, the links' signer, the
    lifecycle that records the answer (the same use case as a reply by mail), the clock
    and the gateway's locale."""

    def __init__(
        self, db: Database, links: L, actions: LifecycleActions, clock: Clock, locale: str
    ) -> None:
        self.db = db
        self.links = links
        self.actions = actions
        self.clock = clock
        self.locale = locale

    def words(self) -> Words:
        """The pages' words: the ticket's zone, the admin's labels (labels.yaml)."""
        return self.actions.parts.words(self.actions.parts.policy().calendar.zone)

    def page(self, status: int, template: str, **context: object) -> Page:
        return Page(status, template, dict(context), self.locale)


def csrf_ok(codec: LinkCodec, request: PageRequest) -> bool:
    """A POST carries the HMAC of its own link's token (the page put it in the form)."""
    return codec.csrf_ok(request.token, request.form.get("csrf", ""))


def when(words: Words, instant: datetime | None) -> str:
    return words.when(instant) if instant else ""
