"""The HTTP edge of `serve`: customer pages, /healthz, /readyz and /metrics, on aiohttp.

The only module that imports aiohttp. Its server runs on the same asyncio event loop as
the SMTP listener; the pages' database work goes to a thread (`asyncio.to_thread`), so a
slow query never stalls mail. What it guards, so the pages (status_pages.py,
survey_page.py) need not: a connection that sends no complete request within
`[http] read_timeout` is closed, a body that does not arrive in that time gets 408, one
over `max_body_bytes` 413, a malformed request line, header or Content-Length 400 (from
aiohttp's parser), a form that is not a form 400; every link is rate-limited per link
and per client address (ratelimit.py) with 429. Every answer carries a strict
Content-Security-Policy (the page's one `<style>` is allowed by a per-response nonce),
`Referrer-Policy: no-referrer` (the token in the path never leaks to another site),
`X-Frame-Options: DENY`, `X-Content-Type-Options: nosniff` and `Cache-Control: no-store`,
aiohttp's own 400 for a request its parser refused too (`_Connection`).
The access log writes a link's kind, never its token.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

from gateway.lifecycle.ticket_links import LinkPurpose
from gateway.runtime.pages import Page, PageRequest, not_found
from gateway.runtime.ratelimit import SlidingWindow
from gateway.runtime.status_pages import TicketPages
from gateway.runtime.survey_page import SurveyPages
from outbound.compose import Templates

log = logging.getLogger(__name__)
access = logging.getLogger("ticketgate.http")

FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")
_LINK_PATH = re.compile(r"^/(ticket|resolution|escalation|survey)/[^/?]*")
Handler = Callable[[web.Request], Awaitable[StreamResponse]]


@dataclass(frozen=True)
class WebLimits:
    """`[http]`: how long a request may take to arrive, how big a form, how many a minute
    (the defaults live in the config's HttpSection)."""

    read_timeout: float
    max_body_bytes: int
    rate_per_link: int
    rate_per_address: int


def _csp(nonce: str) -> str:
    return (
        f"default-src 'none'; style-src 'nonce-{nonce}'; img-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )


def _safe_path(path: str) -> str:
    """The path as the access log writes it: a link's token is a secret."""
    return _LINK_PATH.sub(lambda m: f"/{m.group(1)}/…", path)


class _AccessLog(AbstractAccessLogger):
    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        access.info(
            "http method=%s path=%s status=%d ms=%d client=%s bytes=%s",
            request.method,
            _safe_path(request.path),
            response.status,
            round(time * 1000),
            request.remote or "-",
            response.body_length,
        )


class _MalformedRequests(logging.Filter):
    """aiohttp logs a request its parser refused (and answered 400) as an ERROR with a
    traceback; it is the client's fault, so one line at INFO, without the traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError):
            first = str(exc.message).strip().splitlines()[0] if exc.message else ""
            record.msg, record.args = "http malformed request answered %d: %s", (exc.code, first)
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


class WebEndpoint:
    """The aiohttp application and its listening socket; `start()` binds, `stop()` closes."""

    def __init__(
        self,
        *,
        surveys: SurveyPages,
        tickets: TicketPages,
        templates: Templates,
        metrics: Callable[[], str],
        ready: Callable[[], bool],
        limits: WebLimits,
        locale: str,
    ) -> None:
        self.surveys = surveys
        self.tickets = tickets
        self.templates = templates
        self.metrics = metrics
        self.ready = ready
        self.limits = limits
        self.locale = locale
        self.per_link = SlidingWindow(limits.rate_per_link, 60.0, time.monotonic)
        self.per_address = SlidingWindow(limits.rate_per_address, 60.0, time.monotonic)
        self._runner: web.AppRunner | None = None
        self._quiet = _MalformedRequests()

    def app(self) -> web.Application:
        app = web.Application(
            client_max_size=self.limits.max_body_bytes,
            middlewares=[self._guard],
            handler_args={"max_field_size": 8190, "max_line_size": 8190},
        )
        app.router.add_get("/healthz", self._healthz, allow_head=True)
        app.router.add_get("/readyz", self._readyz, allow_head=True)
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/ticket/{token}", self._ticket)
        for purpose in ("resolution", "escalation"):
            app.router.add_route("*", f"/{purpose}/{{token}}", self._action)
        app.router.add_route("*", "/survey/{token}", self._survey)
        app.on_response_prepare.append(_server_header)
        return app

    async def start(self, host: str, port: int) -> tuple[str, int]:
        runner = _Runner(
            self.app(),
            access_log_class=_AccessLog,
            # Closes a connection idle, or still sending its request line and headers, this
            # long after it opened or after its last answer (a slowloris holds nothing).
            keepalive_timeout=self.limits.read_timeout,
            shutdown_timeout=2.0,
            handle_signals=False,
        )
        logging.getLogger("aiohttp.server").addFilter(self._quiet)
        await runner.setup()
        site = web.TCPSite(runner, host, port, reuse_address=True)
        await site.start()
        self._runner = runner
        # With port 0 the system chose one: read back what was bound.
        bound = runner.addresses[0][:2] if runner.addresses else (host, port)
        return str(bound[0]), int(bound[1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        logging.getLogger("aiohttp.server").removeFilter(self._quiet)

    # --- the guard around every request -------------------------------------------------

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> StreamResponse:
        nonce = secrets.token_urlsafe(16)
        request["nonce"] = nonce
        try:
            if not self._within_rate(request):
                response: StreamResponse = self._error(request, HTTPStatus.TOO_MANY_REQUESTS,
                                                       "too_many")  # fmt: skip
                response.headers["Retry-After"] = "60"
            else:
                response = await handler(request)
        except web.HTTPRequestEntityTooLarge:
            response = self._error(request, HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "too_large")
        except web.HTTPMethodNotAllowed as exc:
            response = self._error(request, HTTPStatus.METHOD_NOT_ALLOWED, "method")
            response.headers["Allow"] = ",".join(sorted(exc.allowed_methods))
        except web.HTTPNotFound:
            response = self._render(request, not_found())
        except web.HTTPException as exc:
            kind = "bad_request" if exc.status < 500 else "server"
            response = self._error(request, exc.status, kind)
        except Exception:
            log.exception("page %s failed", _safe_path(request.path))
            response = self._error(request, HTTPStatus.INTERNAL_SERVER_ERROR, "server")
        _harden(response, nonce)
        return response

    def _within_rate(self, request: web.Request) -> bool:
        """Links only (health checks and metrics are not limited): per address, then per
        link, so one address cannot exhaust another's link."""
        match = _LINK_PATH.match(request.path)
        if match is None:
            return True
        if not self.per_address.allow(request.remote or "-"):
            return False
        return self.per_link.allow(match.group(0))

    def _render(self, request: web.Request, page: Page) -> web.Response:
        body = self.templates.page(
            page.template, page.locale or self.locale, {**page.context, "nonce": request["nonce"]}
        )
        return web.Response(status=page.status, text=body, content_type="text/html",
                            charset="utf-8")  # fmt: skip

    def _error(self, request: web.Request, status: int, kind: str) -> web.Response:
        return self._render(request, Page(status, "error", {"kind": kind}))

    # --- the pages ----------------------------------------------------------------------

    async def _read(self, request: web.Request) -> PageRequest:
        """The link's token, its query and (on POST) its form, read within the timeout."""
        token = request.match_info["token"]
        query = {k: v for k, v in request.query.items() if isinstance(v, str)}
        if request.method != "POST":
            return PageRequest(token, query)
        if request.content_type not in FORMS:
            raise web.HTTPBadRequest()
        try:
            fields = await asyncio.wait_for(request.post(), self.limits.read_timeout)
        except TimeoutError:
            raise web.HTTPRequestTimeout() from None
        except (UnicodeDecodeError, ValueError):
            raise web.HTTPBadRequest() from None
        form = {k: v for k, v in fields.items() if isinstance(v, str)}
        return PageRequest(token, query, form, post=True)

    async def _page(
        self, request: web.Request, answer: Callable[[PageRequest], Page]
    ) -> StreamResponse:
        if request.method not in ("GET", "HEAD", "POST"):
            raise web.HTTPMethodNotAllowed(request.method, ["GET", "HEAD", "POST"])
        page_request = await self._read(request)
        page = await asyncio.to_thread(answer, page_request)
        return self._render(request, page)

    async def _ticket(self, request: web.Request) -> StreamResponse:
        return await self._page(
            request, lambda r: self.tickets.handle(LinkPurpose.TICKET, r)
        )

    async def _action(self, request: web.Request) -> StreamResponse:
        purpose = LinkPurpose(request.path.split("/")[1])
        return await self._page(request, lambda r: self.tickets.handle(purpose, r))

    async def _survey(self, request: web.Request) -> StreamResponse:
        return await self._page(request, self.surveys.handle)

    # --- for operators ------------------------------------------------------------------

    async def _healthz(self, request: web.Request) -> StreamResponse:
        return web.Response(text="ok\n")

    async def _readyz(self, request: web.Request) -> StreamResponse:
        """Ready when the database answers and its schema is at the newest migration."""
        try:
            ready = await asyncio.to_thread(self.ready)
        except Exception as exc:
            log.warning("readiness check failed: %s", exc)
            ready = False
        if ready:
            return web.Response(text="ready\n")
        return web.Response(status=HTTPStatus.SERVICE_UNAVAILABLE, text="not ready\n")

    async def _metrics(self, request: web.Request) -> StreamResponse:
        try:
            text, status = await asyncio.to_thread(self.metrics), HTTPStatus.OK
        except Exception:
            log.exception("metrics failed")
            text, status = "# store unavailable\n", HTTPStatus.SERVICE_UNAVAILABLE
        # Prometheus text exposition format, version 0.0.4.
        response = web.Response(status=status, text=text)
        response.headers["Content-Type"] = "text/plain; version=0.0.4; charset=utf-8"
        return response


async def _server_header(request: web.Request, response: StreamResponse) -> None:
    response.headers["Server"] = "ticketgate"


def _harden(response: StreamResponse, nonce: str) -> None:
    """The headers every answer carries, a page's (its nonce) or aiohttp's own error."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", _csp(nonce))
    headers["Referrer-Policy"] = "no-referrer"
    headers["X-Frame-Options"] = "DENY"
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Cache-Control"] = "no-store"


class _Connection(web.RequestHandler):
    """One HTTP connection, whose own error answers are hardened too: a request its parser
    refuses gets aiohttp's 400 from `handle_error`, past every middleware and the
    `on_response_prepare` signal (its request matched no route: aiohttp issue #6463)."""

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> StreamResponse:
        response = super().handle_error(request, status, exc, message)
        _harden(response, secrets.token_urlsafe(16))
        response.headers["Server"] = "ticketgate"
        return response


class _Server(web.Server):
    """aiohttp's protocol factory with the application's handler and connection settings,
    making `_Connection`s (aiohttp's own `Server.__call__` makes its RequestHandler)."""

    @classmethod
    def like(cls, made: web.Server) -> _Server:
        return cls(
            made.request_handler,
            request_factory=made.request_factory,
            handler_cancellation=made.handler_cancellation,
            loop=made._loop,
            **made._kwargs,
        )

    def __call__(self) -> web.RequestHandler:
        return _Connection(self, loop=self._loop, **self._kwargs)


class _Runner(web.AppRunner):
    """aiohttp's AppRunner serving through `_Server`; `_make_server` is where a runner
    chooses its server (BaseRunner's abstract method)."""

    async def _make_server(self) -> web.Server:
        return _Server.like(await super()._make_server())
