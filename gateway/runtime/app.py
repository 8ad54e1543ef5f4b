"""The composition root: builds every part from Settings and runs `serve`.

Nothing else wires things together. Engines, stores, the token codec, the
clock and the templates are made here and handed to the edges, so no module
builds global state at import time.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass
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
from gateway.lifecycle.surveys import SurveyLinks
from gateway.lifecycle.sweeper import Sweeper
from gateway.lifecycle.ticket_links import TicketLinks
from gateway.mail.labels import BUILTIN_LABELS, Words, brand
from gateway.mail.letters import Mailer
from gateway.runtime.alerts import AdminAlerts
from gateway.runtime.http import HttpEndpoint, SurveyPages
from gateway.runtime.imap_runner import ImapRunner, all_mailboxes, intake_delivery
from gateway.runtime.outbox_store import DatabaseOutboxStore
from gateway.runtime.scheduler import start_scheduler
from gateway.runtime.telemetry import Telemetry
from gateway.runtime.ticket_pages import TicketPages
from inbound.smtp import SupportHandler, start_listener
from outbound.compose import Templates
from outbound.relay import PickupFolder, SmtpRelay, Transport
from outbound.worker import OutboxWorker
from rules.engine import RuleSet
from rules.sourcefile import Problem, SourceFileError
from storage.blobs import BlobStore
from storage.db import Database
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
    settings: Settings, clock: Clock | None = None, on_commit: Callable[[], None] | None = None
) -> Gateway:
    clock = clock or SystemClock()
    db = Database.open(settings.storage_url)
    gateway_cfg = settings.gateway
    zone = ZoneInfo(gateway_cfg.timezone)
    signer = Signer(settings.secret())  # one key, one HMAC: reply tokens, survey and ticket links
    tokens = ReplyTokens(signer)
    templates = checked_templates(settings)  # a broken override stops start-up
    alerts = AdminAlerts(
        db,
        templates,
        locale=gateway_cfg.locale,
        support_address=settings.support_address,
        admins=gateway_cfg.admins,
        clock=clock,
    )

    def template_names() -> dict[str, frozenset[str]]:
        """What `reply_with` may name, re-read on each reload of the rules."""
        return templates.rule_templates(gateway_cfg.locale)

    directory = watch_directory(
        settings.directory_path, alerts.file_refused, settings.rules_path, template_names
    )
    rules = watch_rules(
        settings.rules_path,
        settings.directory_path,
        directory,
        template_names,
        alerts.file_refused,
        settings.templates_path,
    )
    policy = watch_policy(settings.policy_path, zone, alerts.file_refused)
    labels = watch_labels(
        settings.labels_path,
        BUILTIN_LABELS,
        settings.directory_path,
        directory,
        alerts.file_refused,
    )
    links = SurveyLinks(signer, settings.file.http.public_url)
    ticket_links = TicketLinks(signer, settings.file.http.public_url)
    lifecycle = LifecycleActions(
        tokens=tokens,
        links=links,
        ticket_links=ticket_links,
        policy=policy,
        directory=directory,
        locale=gateway_cfg.locale,
        support_address=settings.support_address,
        mailer=Mailer(templates, Words(gateway_cfg.locale, zone)),
        labels=labels,
    )
    intake = Intake(
        db=db,
        blobs=BlobStore(settings.data_dir / "blobs"),
        policy=IntakePolicy(
            support_addresses=tuple(gateway_cfg.support_addresses),
            trusted_authserv_ids=tuple(gateway_cfg.trusted_authserv_ids),
            max_message_bytes=settings.file.smtp.max_message_bytes,
            locale=gateway_cfg.locale,
            zone=zone,
        ),
        directory=directory,
        rules=rules,
        tokens=tokens,
        templates=templates,
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
    watched = (gateway.directory, gateway.rules, gateway.policy)
    return Telemetry(gateway.db, gateway.clock, lambda: {w.name: w.reloads for w in watched})


def _start_http(gateway: Gateway, telemetry: Telemetry) -> HttpEndpoint | None:
    """The survey pages; a busy port is logged, not fatal: mail matters more than pages."""
    cfg = gateway.settings.file.http
    endpoint = HttpEndpoint(
        gateway.survey_pages,
        cfg.host,
        cfg.port,
        telemetry.render,
        tickets=gateway.ticket_pages,
    )
    try:
        host, port = endpoint.start()
    except OSError as exc:
        log.error(
            "survey pages unavailable: cannot listen on %s:%d (%s); change [http] port",
            cfg.host,
            cfg.port,
            exc,
        )
        return None
    log.info("HTTP (survey and ticket pages, /healthz) on %s:%d", host, port)
    return endpoint


def make_transport(settings: Settings) -> Transport:
    if settings.relay_pickup_dir is not None:
        return PickupFolder(settings.relay_pickup_dir)
    relay = settings.file.relay
    password = os.environ.get(relay.password_env) if relay.password_env else None
    return SmtpRelay(
        host=relay.host,
        port=relay.port,
        starttls=relay.starttls,
        username=relay.username,
        password=password,
    )


def _hold_sqlite_lock(settings: Settings) -> int | None:
    """One `serve` per SQLite file: the outbox's crash recovery relies on it."""
    if not settings.storage_url.startswith("sqlite"):
        return None
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(settings.data_dir / "serve.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise SystemExit(
            f"another `ticketgate serve` is using {settings.data_dir}; stop it first "
            "(SQLite serves one process; use PostgreSQL to run several)"
        ) from None
    return fd


async def serve(settings: Settings, ready: Callable[[str, int], None] | None = None) -> None:
    """Run the SMTP listener and the outbox worker until SIGTERM or SIGINT."""
    lock = _hold_sqlite_lock(settings)
    wake = asyncio.Event()
    loop = asyncio.get_running_loop()

    def wake_worker() -> None:
        """Wake the outbox worker from any thread (a commit, a fired timer)."""
        loop.call_soon_threadsafe(wake.set)

    gateway = build(settings, on_commit=wake_worker)
    if lock is not None:
        released = gateway.outbox_store.release_own_claims()
        if released:
            log.info("re-queued %d outbox mail(s) a previous run left mid-send", released)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    telemetry = telemetry_of(gateway)

    async def deliver(raw: bytes, envelope: Envelope) -> str:
        with telemetry.intake_seconds.labels("smtp").time():
            receipt = await asyncio.to_thread(gateway.intake.receive, raw, envelope, "smtp")
        # Only an authorized sender's own new mail learns its ticket's ref here;
        # a replayed copy (duplicate) or a report (bounced) must reveal nothing.
        shown = receipt.outcome in (Outcome.CREATED, Outcome.THREADED)
        return receipt.outcome.value + (f" {receipt.ticket}" if shown and receipt.ticket else "")

    smtp_cfg = settings.file.smtp
    server = await start_listener(
        SupportHandler(settings.gateway.support_addresses, deliver),
        smtp_cfg.host,
        smtp_cfg.port,
        smtp_cfg.max_message_bytes,
    )
    host, port = server.sockets[0].getsockname()[:2]
    log.info(
        "SMTP listener on %s:%d for %s", host, port, ", ".join(settings.gateway.support_addresses)
    )
    if ready:
        ready(host, port)
    worker = asyncio.create_task(gateway.outbox.run(stop, wake))
    watcher = asyncio.create_task(_watch_admin_files(gateway, stop))
    # IMAP pollers: one thread per [[imap]] mailbox, same Intake.receive (channel "imap").
    # Several instances may share one store: a lease per mailbox and one for the sweep.
    def lease(name: str) -> Lease:
        return Lease(gateway.db.engine, name, settings.data_dir)

    imap = ImapRunner(all_mailboxes(settings), intake_delivery(gateway.intake), lease)
    imap.start()
    # Lifecycle sweeps on APScheduler's thread; survey pages and /healthz on the HTTP thread.
    sweep_lease = lease("scheduler")
    scheduler = start_scheduler(
        gateway.sweeper,
        refresh=gateway.policy.refresh,
        on_fired=wake_worker,
        is_leader=sweep_lease.try_acquire,
    )
    http = _start_http(gateway, telemetry)
    try:
        await stop.wait()
    finally:
        log.info("stopping: closing the SMTP listener and finishing the current send")
        server.close()
        await asyncio.to_thread(scheduler.shutdown)
        sweep_lease.release()
        if http is not None:
            await asyncio.to_thread(http.stop)
        await asyncio.to_thread(imap.stop)
        await server.wait_closed()
        await worker
        await watcher
        gateway.close()
        if lock is not None:
            os.close(lock)
        log.info("stopped")
