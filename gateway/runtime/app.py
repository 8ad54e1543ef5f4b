"""The composition root: builds every part from Settings and runs `serve`.

Nothing else wires things together. Engines, stores, the token codec, the
clock and the templates are made here and handed to the edges, so no module
builds global state at import time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import IO
from zoneinfo import ZoneInfo

from gateway.config.labels_file import watch_labels
from gateway.config.policy_file import watch_policy
from gateway.config.reloading import Watched, watch_directory, watch_rules
from gateway.config.settings import Settings
from gateway.domain import Clock, Directory, Envelope, Outcome
from gateway.domain.clock import SystemClock
from gateway.domain.labels import LabelTable
from gateway.domain.policy import Policy
from gateway.domain.signing import ReplyTokens, Signer
from gateway.intake.use_case import Intake, IntakePolicy
from gateway.lifecycle.actions import LifecycleActions
from gateway.lifecycle.retention import Retention
from gateway.lifecycle.surveys import SurveyLinks
from gateway.lifecycle.sweeper import Sweeper
from gateway.lifecycle.ticket_links import TicketLinks
from gateway.mail.labels import BUILTIN_LABELS, Words, brand
from gateway.mail.letters import Mailer
from gateway.runtime.alerts import AdminAlerts
from gateway.runtime.edges import make_blobs, make_transport
from gateway.runtime.group_commit import GroupCommit
from gateway.runtime.imap_runner import ImapRunner, all_mailboxes, intake_delivery
from gateway.runtime.leadership import ALONE_POLL, SHARED_POLL, hold_sqlite_lock, lead_outbox
from gateway.runtime.outbox_store import DatabaseOutboxStore
from gateway.runtime.scheduler import start_scheduler
from gateway.runtime.status_pages import TicketPages
from gateway.runtime.survey_page import SurveyPages
from gateway.runtime.telemetry import Telemetry
from gateway.runtime.web import WebEndpoint, WebLimits
from gateway.runtime.workers import WorkerRole
from inbound.smtp import SupportHandler, start_listener
from outbound.compose import Templates
from outbound.worker import OutboxWorker
from rules.engine import RuleSet
from rules.sourcefile import Problem, SourceFileError
from storage.db import Database
from storage.flow import FlowLedger
from storage.leases import Lease

log = logging.getLogger("ticketgate")


@dataclass
class Gateway:
    """Every long-lived part of one gateway process."""

    settings: Settings
    db: Database
    intake: Intake
    outbox: OutboxWorker
    outbox_store: DatabaseOutboxStore
    clock: Clock
    directory: Watched[Directory]
    rules: Watched[RuleSet]
    policy: Watched[Policy]
    labels: Watched[LabelTable]
    lifecycle: LifecycleActions
    sweeper: Sweeper
    survey_pages: SurveyPages
    ticket_pages: TicketPages
    templates: Templates
    retention: Retention

    def close(self) -> None:
        self.db.close()


def make_templates(settings: Settings) -> Templates:
    """The packaged templates under the admin's `[paths] templates` folder, signed with
    the configured company name and signature."""
    gateway = settings.gateway
    return Templates(settings.templates_path, brand(gateway.company_name, gateway.signature))


def checked_templates(settings: Settings) -> Templates:
    """The templates with the admin's overrides, refused (file:line) when one of them does
    not parse or an own template lacks a part: the rules may name them in `reply_with`.
    `serve` and `rules check` both run this one check."""
    templates = make_templates(settings)
    problems = [Problem(p.path, p.line, 1, p.message) for p in templates.problems()]
    if problems:
        raise SourceFileError(problems)
    return templates


def build(
    settings: Settings,
    clock: Clock | None = None,
    on_commit: Callable[[], None] | None = None,
    alert_admins: bool = True,  # False in all of `serve`'s workers but one: one mail per edit
) -> Gateway:
    clock = clock or SystemClock()
    db = Database.open(settings.storage_url)
    gateway_cfg = settings.gateway
    zone = ZoneInfo(gateway_cfg.timezone)
    # One HMAC for reply tokens, survey and ticket links: the current key signs, old ones verify.
    signer = Signer(*settings.signing_keys())
    tokens = ReplyTokens(signer)
    templates = checked_templates(settings)  # a broken override stops start-up
    limits = settings.file.limits.limits()  # loops and floods, shared by intake and lifecycle
    alerts = AdminAlerts(
        db,
        templates,
        locale=gateway_cfg.locale,
        support_address=settings.support_address,
        admins=gateway_cfg.admins,
        clock=clock,
    )
    refused = alerts.file_refused if alert_admins else (lambda _what, _error: None)

    def template_names() -> dict[str, frozenset[str]]:
        """What `reply_with` may name, re-read on each reload of the rules."""
        return templates.rule_templates(gateway_cfg.locale)

    directory = watch_directory(
        settings.directory_path, refused, settings.rules_path, template_names
    )
    rules = watch_rules(
        settings.rules_path,
        settings.directory_path,
        directory,
        template_names,
        refused,
        settings.templates_path,
    )
    policy = watch_policy(settings.policy_path, zone, refused)
    labels = watch_labels(
        settings.labels_path,
        BUILTIN_LABELS,
        settings.directory_path,
        directory,
        refused,
    )
    http_cfg = settings.file.http
    links = SurveyLinks(signer, http_cfg.public_url, http_cfg.link_days)
    ticket_links = TicketLinks(signer, http_cfg.public_url, http_cfg.link_days)
    lifecycle = LifecycleActions(
        tokens=tokens,
        links=links,
        ticket_links=ticket_links,
        policy=policy,
        directory=directory,
        locale=gateway_cfg.locale,
        support_address=settings.support_address,
        mailer=Mailer(templates, Words(gateway_cfg.locale, zone), ticket_links.status_url, limits),
        labels=labels,
    )
    blobs = make_blobs(settings)
    intake = Intake(
        db=db,
        blobs=blobs,
        policy=IntakePolicy(
            support_addresses=tuple(gateway_cfg.support_addresses),
            trusted_authserv_ids=tuple(gateway_cfg.trusted_authserv_ids),
            max_message_bytes=settings.file.smtp.max_message_bytes,
            locale=gateway_cfg.locale,
            zone=zone,
            limits=limits,
            admins=tuple(gateway_cfg.admins),
        ),
        directory=directory,
        rules=rules,
        tokens=tokens,
        support_policy=policy,  # the live policy: due times, #due dates, #outcome words
        clock=clock,
        lifecycle=lifecycle,
        on_commit=on_commit or (lambda: None),
    )
    store = DatabaseOutboxStore(db)
    return Gateway(
        settings=settings,
        db=db,
        intake=intake,
        outbox=OutboxWorker(store, make_transport(settings), clock),
        outbox_store=store,
        clock=clock,
        directory=directory,
        rules=rules,
        policy=policy,
        labels=labels,
        lifecycle=lifecycle,
        sweeper=Sweeper(db, lifecycle, clock),
        survey_pages=SurveyPages(db, links, lifecycle, clock, gateway_cfg.locale),
        ticket_pages=TicketPages(db, ticket_links, lifecycle, clock, gateway_cfg.locale),
        templates=templates,
        retention=Retention(db, blobs, settings.file.retention.closed_ticket_days),
    )


async def _watch_admin_files(gateway: Gateway, stop: asyncio.Event, interval: float = 1.0) -> None:
    """Notice rules, directory and labels edits within a second, even with no mail
    flowing (a refused edit alerts the admins then, not at the next mail)."""
    while not stop.is_set():
        try:
            await asyncio.to_thread(gateway.rules.refresh)  # reloads the directory too
            await asyncio.to_thread(gateway.labels.refresh)
        except Exception:
            log.exception("checking the rules, directory and labels failed; will try again")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)


def telemetry_of(gateway: Gateway) -> Telemetry:
    """/metrics for this process: the store's figures and the admin files' reload counts."""
    watched = (gateway.directory, gateway.rules, gateway.policy, gateway.labels)
    return Telemetry(gateway.db, gateway.clock, lambda: {w.name: w.reloads for w in watched})


async def _start_http(gateway: Gateway, telemetry: Telemetry) -> WebEndpoint | None:
    """The customer pages; a busy port is logged, not fatal: mail matters more than pages."""
    cfg = gateway.settings.file.http
    endpoint = WebEndpoint(
        surveys=gateway.survey_pages,
        tickets=gateway.ticket_pages,
        templates=gateway.templates,
        metrics=telemetry.render,
        ready=gateway.db.schema_current,
        limits=WebLimits(
            cfg.read_timeout, cfg.max_body_bytes, cfg.rate_per_link, cfg.rate_per_address
        ),
        locale=gateway.settings.gateway.locale,
    )
    try:
        host, port = await endpoint.start(cfg.host, cfg.port)
    except OSError as exc:
        log.error(
            "customer pages unavailable: cannot listen on %s:%d (%s); change [http] port",
            cfg.host,
            cfg.port,
            exc,
        )
        return None
    log.info("HTTP (customer pages, /healthz, /readyz, /metrics) on %s:%d", host, port)
    return endpoint


def prune_flow_marks(gateway: Gateway) -> int:
    """Forget flood-count marks older than the longest window (and a day at least)."""
    keep = max(gateway.intake.policy.limits.longest_window(), timedelta(days=1))
    with gateway.db.transaction() as session:
        return FlowLedger(session).prune(gateway.clock.now() - keep)


async def serve(
    settings: Settings,
    ready: Callable[[str, int], None] | None = None,
    worker: WorkerRole | None = None,
) -> None:
    """Run the SMTP listener and the outbox worker until SIGTERM or SIGINT; as one of a
    supervisor's `worker`s, on its shared port (the supervisor holds the SQLite lock)."""
    lock = hold_sqlite_lock(settings) if worker is None else None
    wake = asyncio.Event()
    loop = asyncio.get_running_loop()

    def wake_worker() -> None:
        """Wake the outbox worker from any thread (a commit, a fired timer)."""
        loop.call_soon_threadsafe(wake.set)

    gateway = build(settings, on_commit=wake_worker, alert_admins=not worker or worker.is_first)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    telemetry = telemetry_of(gateway)

    group = GroupCommit(gateway.intake)  # mail arriving together commits together

    async def deliver(spool: IO[bytes], envelope: Envelope) -> str:
        with telemetry.intake_seconds.labels("smtp").time():
            receipt = await group.receive(spool, envelope, "smtp")
        # Only an authorized sender's own new mail learns its ticket's ref here;
        # a replayed copy (duplicate) or a report (bounced) must reveal nothing.
        shown = receipt.outcome in (Outcome.CREATED, Outcome.THREADED)
        return receipt.outcome.value + (f" {receipt.ticket}" if shown and receipt.ticket else "")

    smtp_cfg = settings.file.smtp
    handler = SupportHandler(settings.gateway.support_addresses, deliver)
    server = await start_listener(
        handler,
        smtp_cfg.host,
        worker.port if worker else smtp_cfg.port,
        smtp_cfg.max_message_bytes,
        settings.data_dir / "spool",
        reuse_port=worker is not None,
    )
    host, port = server.sockets[0].getsockname()[:2]
    log.info(
        "SMTP listener on %s:%d for %s", host, port, ", ".join(settings.gateway.support_addresses)
    )
    if ready:
        ready(host, port)
    committer = asyncio.create_task(group.run())

    # Several processes may share one store (workers, instances on PostgreSQL): a lease
    # for the outbox sender, one per IMAP mailbox, one for the sweep.
    def lease(name: str) -> Lease:
        return Lease(gateway.db.engine, name, settings.data_dir)

    outbox_lease = lease("outbox")
    alone = worker is None and not gateway.db.is_postgres  # every commit wakes the sender
    sender = asyncio.create_task(
        lead_outbox(gateway.outbox, gateway.outbox_store, outbox_lease, stop, wake,
                    ALONE_POLL if alone else SHARED_POLL)
    )  # fmt: skip
    watcher = asyncio.create_task(_watch_admin_files(gateway, stop))
    # IMAP pollers: one thread per [[imap]] mailbox, the intake's group commit (channel "imap").
    imap = ImapRunner(all_mailboxes(settings), intake_delivery(gateway.intake), lease)
    imap.start()
    # Lifecycle sweeps on APScheduler's thread; customer pages and /healthz on this loop.
    sweep_lease = lease("scheduler")
    scheduler = start_scheduler(
        gateway.sweeper,
        refresh=gateway.policy.refresh,
        on_fired=wake_worker,
        is_leader=sweep_lease.try_acquire,
        retention=gateway.retention,
        prune=lambda: prune_flow_marks(gateway),
    )
    http = await _start_http(gateway, telemetry) if not worker or worker.is_first else None
    try:
        await stop.wait()
    finally:
        threads = [scheduler.shutdown, lambda: imap.stop(SHUTDOWN_DEADLINE - 1)]
        await _shut_down(server, handler, sender, threads, [http.stop()] if http else [])
        committer.cancel()  # after the drain: every message in hand has had its answer
        sweep_lease.release()
        outbox_lease.release()
        await watcher
        gateway.close()
        if lock is not None:
            os.close(lock)
        log.info("stopped")


SHUTDOWN_DEADLINE = 8.0  # seconds from SIGTERM to a closed database: within the promised 10


async def _shut_down(
    server: asyncio.Server,
    handler: SupportHandler,
    worker: asyncio.Task[None],
    blocking_stops: list[Callable[[], object]],
    stops: list[Coroutine[object, object, object]],
) -> None:
    """Stop accepting, finish the message in hand and the mail being sent, all at once and
    within SHUTDOWN_DEADLINE whatever is queued: queued mail stays queued for the next start,
    and a send cut off at the deadline is resent then with the same Message-ID."""
    log.info("stopping: closing the SMTP listener and finishing the current send")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SHUTDOWN_DEADLINE
    server.close()

    async def in_hand() -> None:
        if not await handler.drain(SHUTDOWN_DEADLINE - 1):
            log.warning("stopping with SMTP messages in hand; their clients will retry")

    async def sending() -> None:
        try:
            await asyncio.wait_for(worker, max(deadline - loop.time(), 0))
        except TimeoutError:
            log.warning("the outbox send in hand was cut off; it is resent on the next start")

    # The scheduler's sweep, the HTTP endpoint and the IMAP pollers stop beside them.
    await asyncio.gather(in_hand(), sending(), *map(asyncio.to_thread, blocking_stops), *stops)
