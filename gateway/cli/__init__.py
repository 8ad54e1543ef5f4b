"""The `ticketgate` command line: the external contract of DESIGN.md.

Each command loads the configuration (`--config`, `TICKETGATE_CONFIG`, or
the demo written under ./var/), builds the parts it needs through the
composition root and reports in plain words or, with `--json`, in the
documented JSON shapes.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click

from gateway.cli.ingest import ingest
from gateway.cli.lifecycle import report, scheduler
from gateway.cli.ops import db, doctor
from gateway.cli.params import TICKET_REF, Refused, instant
from gateway.cli.quarantine import quarantine
from gateway.cli.retention import purge
from gateway.cli.rules import rules as rules_group
from gateway.config.policy_file import load_policy
from gateway.config.settings import Settings, ensure_secret_file, ensure_signing_key, load_settings
from gateway.domain import TicketRecord, TicketRef, TicketStatus
from gateway.domain.clock import FixedClock, SystemClock
from gateway.runtime.app import Gateway, build
from gateway.runtime.app import serve as serve_forever
from gateway.runtime.edges import make_transport
from gateway.runtime.imap_runner import all_mailboxes
from gateway.runtime.logs import LogFormat, configure_logging
from gateway.runtime.outbox_store import DatabaseOutboxStore
from gateway.runtime.workers import WorkerRole, supervise
from inbound.imap import check_mailbox
from outbound.worker import OutboxWorker
from rules.sourcefile import SourceFileError
from storage.db import Database, UnsupportedStore
from storage.repository import Outbox, TicketRepository

DEMO_DIR = Path("var")


@dataclass
class Context:
    config_path: Path | None
    verbose: bool = False
    is_demo: bool = False
    worker: int | None = None  # a supervisor's worker: its number on every log line
    _settings: Settings | None = None

    def settings(self) -> Settings:
        if self._settings is None:
            path = self.config_path
            if path is None:
                path = write_demo_config(DEMO_DIR)
                self.is_demo = True
            try:
                self._settings = load_settings(path)
            except SourceFileError as exc:
                raise click.ClickException(
                    f"invalid configuration:\n{exc}\nFix the file(s) above and run again."
                ) from exc
            wanted = _env_log_format(self._settings.file.logging.format)
            if wanted != _env_log_format():  # the config asks for other lines than so far
                configure_logging(wanted, verbose=self.verbose, worker=self.worker)
        return self._settings

    def tickets_zone(self) -> ZoneInfo:
        """The zone tickets are shown in: policy.yaml's `timezone`, else `[gateway]`'s (a
        policy file that does not load leaves the gateway's; `rules check` reports it)."""
        settings = self.settings()
        zone = ZoneInfo(settings.gateway.timezone)
        try:
            return load_policy(settings.policy_path, zone).calendar.zone
        except SourceFileError:
            return zone

    def database(self) -> Database:
        """The store alone, for commands that only read or send what is queued."""
        try:
            return Database.open(self.settings().storage_url)
        except UnsupportedStore as exc:
            raise click.ClickException(str(exc)) from exc

    def gateway(self) -> Gateway:
        try:
            return build(self.settings())
        except SourceFileError as exc:
            raise click.ClickException(f"{exc}\nFix the file(s) above and run again.") from exc
        except UnsupportedStore as exc:
            raise click.ClickException(str(exc)) from exc


def _env_log_format(configured: LogFormat = "text") -> LogFormat:
    """TICKETGATE_LOG_FORMAT (text or json) wins over `[logging] format`."""
    value = os.environ.get("TICKETGATE_LOG_FORMAT", configured)
    return "json" if value == "json" else "text"


def write_demo_config(folder: Path) -> Path:
    """Write the demo config and directory once; later runs reuse (and keep edits to) them."""
    folder.mkdir(parents=True, exist_ok=True)
    demo = resources.files("gateway") / "demo"
    for name in ("ticketgate.toml", "directory.yaml"):
        target = folder / name
        if not target.exists():
            with resources.as_file(demo / name) as source:
                shutil.copyfile(source, target)
    rules = folder / "rules"
    if not rules.exists():
        rules.mkdir()
        for entry in (resources.files("rules") / "default").iterdir():
            if entry.name.endswith(".yaml"):
                (rules / entry.name).write_bytes(entry.read_bytes())
    ensure_secret_file(folder)
    return folder / "ticketgate.toml"


@click.group()
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="TICKETGATE_CONFIG",
    help="ticketgate.toml to use (default: $TICKETGATE_CONFIG, else the demo under ./var/).",
)
@click.option("-v", "--verbose", is_flag=True, help="Log debug detail.")
@click.pass_context
def main(ctx: click.Context, config_path: Path | None, verbose: bool) -> None:
    """ticketgate: an email-first ticketing gateway."""
    configure_logging(_env_log_format(), verbose=verbose)
    ctx.obj = Context(config_path, verbose)


@main.command()
# A supervisor's worker (gateway/runtime/workers.py): its number, the supervisor, the port.
@click.option("--worker", type=int, default=None, hidden=True)
@click.option("--supervisor", type=int, default=None, hidden=True)
@click.option("--port", type=int, default=None, hidden=True)
@click.pass_obj
def serve(obj: Context, worker: int | None, supervisor: int | None, port: int | None) -> None:
    """Run the SMTP listener and the outbox worker until SIGTERM/SIGINT; exit 2 on a bad file."""
    role = None
    if worker is not None and supervisor is not None and port is not None:
        role = WorkerRole(worker, supervisor, port)
        role.follow_supervisor()
        obj.worker = worker
        configure_logging(_env_log_format(), verbose=obj.verbose, worker=worker)
    try:
        settings = obj.settings()
    except click.ClickException as exc:  # ticketgate.toml refused, file:line:column
        raise Refused(exc.message) from exc
    if created := ensure_signing_key(settings):  # a fresh deployment starts as it is
        click.echo(f"{settings.gateway.secret_env} is not set: created {created}", err=True)

    def ready(host: str, port: int) -> None:
        address = settings.support_address
        click.echo(f"ticketgate is receiving mail for {address} on {host}:{port} (SMTP)", err=True)
        if obj.is_demo:
            sent = settings.relay_pickup_dir
            click.echo(
                "Demo: outgoing mail is written to "
                f"{sent}\nSend a test mail from an authorized contact:\n\n"
                f'  python3 -c \'import smtplib; smtplib.SMTP("{host}", {port}).sendmail('
                f'"maria@alfa.edu.br", ["{address}"], '
                'b"From: Maria Souza <maria@alfa.edu.br>\\r\\n'
                f"To: {address}\\r\\nSubject: Sistema fora do ar\\r\\n\\r\\n"
                "O sistema caiu hoje cedo.\\r\\n\")'\n\n"
                "then: .venv/bin/ticketgate tickets list",
                err=True,
            )

    try:
        if role is not None:
            asyncio.run(serve_forever(settings, role.announce, role))
        elif settings.file.smtp.processes() > 1:
            sys.exit(supervise(settings, partial(worker_command, obj, settings), ready))
        else:
            asyncio.run(serve_forever(settings, ready))
    except SourceFileError as exc:  # directory, rules, policy, labels or templates
        raise Refused(f"{exc}\nFix the file(s) above and run again.") from exc
    except UnsupportedStore as exc:
        raise click.ClickException(str(exc)) from exc
    except OSError as exc:
        raise click.ClickException(
            f"cannot listen on {settings.file.smtp.host}:{settings.file.smtp.port}: {exc}. "
            "Is another server using that port? Change [smtp] port in the config."
        ) from exc


def worker_command(obj: Context, settings: Settings, role: WorkerRole) -> list[str]:
    """The command line of one of `serve`'s workers: this `serve`, with its role."""
    verbose = ["-v"] if obj.verbose else []
    config = ["--config", str(settings.source.resolve())]
    return [sys.executable, "-m", "gateway", *config, *verbose, "serve",
            "--worker", str(role.number), "--supervisor", str(role.supervisor),
            "--port", str(role.port)]  # fmt: skip


@main.group()
def tickets() -> None:
    """Look at tickets."""


@tickets.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.option("--status", type=click.Choice([s.value for s in TicketStatus]), default=None)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most N tickets.")
@click.pass_obj
def tickets_list(obj: Context, as_json: bool, status: str | None, limit: int | None) -> None:
    """Tickets in work order: earliest first-response due first."""
    db = obj.database()
    with db.transaction() as session:
        found = TicketRepository(session).list(
            status=TicketStatus(status) if status else None, limit=limit
        )
    if as_json:
        zone = obj.tickets_zone()
        click.echo(
            json.dumps([ticket_json(t, zone) for t in found], ensure_ascii=False, indent=2)
        )
    else:
        zone = obj.tickets_zone()
        for t in found:
            first_due = t.first_response_due
            due = first_due.astimezone(zone).isoformat(timespec="minutes") if first_due else "-"
            click.echo(
                f"{t.ref}  {t.status.value:<19} P{int(t.priority)}  due {due}  "
                f"{t.requester:<28} {t.subject}"
            )
        if not found:
            click.echo("no tickets yet")
    db.close()


@tickets.command("show")
@click.argument("parsed", metavar="REF", type=TICKET_REF)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def tickets_show(obj: Context, parsed: TicketRef, as_json: bool) -> None:
    """One ticket with its messages and event log."""
    db = obj.database()
    with db.transaction() as session:
        repo = TicketRepository(session)
        ticket = repo.get(parsed)
        if ticket is None:
            raise click.ClickException(f"no ticket {parsed}; `ticketgate tickets list` shows them")
        messages = repo.messages(parsed)
        events = repo.events(parsed)
    zone = obj.tickets_zone()
    data = ticket_json(ticket, zone)
    data["messages"] = [
        {
            "message_id": m.message_id,
            "direction": m.direction.value,
            "visibility": m.visibility.value,
            "sender": m.sender,
            "recipients": list(m.recipients),
            "subject": m.subject,
            "body": m.body,
            "attachments": [
                {
                    "filename": a.filename,
                    "content_type": a.content_type,
                    "size": a.size,
                    "sha256": a.sha256,
                }
                for a in m.attachments
            ],
            "created_at": m.created_at.astimezone(zone).isoformat(),
        }
        for m in messages
    ]
    data["events"] = [
        {"at": e.at.astimezone(zone).isoformat(), "actor": e.actor, "kind": e.kind, "data": e.data}
        for e in events
    ]
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        click.echo(
            f"{data['ref']}  {data['subject']}\n  status {data['status']}, priority "
            f"{data['priority']}, {data['category']}, queue {data['queue']}, "
            f"requester {data['requester']}"
        )
        for m in data["messages"]:
            click.echo(
                f"\n--- {m['direction']} {m['visibility']} from {m['sender']} "
                f"at {m['created_at']}\n{m['body']}"
            )
    db.close()


def ticket_json(t: TicketRecord, zone: ZoneInfo) -> dict[str, Any]:
    """A ticket as DESIGN.md's contract spells it; instants in ISO 8601 with the offset of
    the tickets' zone, as its mail shows them (the database keeps UTC)."""

    def iso(value: datetime | None) -> str | None:
        return value.astimezone(zone).isoformat() if value else None

    return {
        "ref": str(t.ref),
        "subject": t.subject,
        "status": t.status.value,
        "priority": int(t.priority),
        "category": t.category,
        "environment": t.environment,
        "queue": t.queue,
        "requester": t.requester,
        "organization": t.organization,
        "assignee": t.assignee,
        "tags": list(t.tags),
        "created_at": iso(t.created_at),
        "updated_at": iso(t.updated_at),
        "first_response_due": iso(t.first_response_due),
        "resolution_due": iso(t.resolution_due),
        "next_response_due": iso(t.next_response_due),
        "due_at": iso(t.due_at),
        "outcome": t.outcome,
    }


@main.group()
def outbox() -> None:
    """Look at and send queued mail."""


@outbox.command("flush")
@click.option("--now", "now_text", default=None, help="Send what is due at this ISO 8601 instant.")
@click.pass_obj
def outbox_flush(obj: Context, now_text: str | None) -> None:
    """Send every queued mail that is due now (or at --now), then exit."""
    settings = obj.settings()
    db = obj.database()
    zone = ZoneInfo(settings.gateway.timezone)
    clock = FixedClock(instant(now_text, zone).astimezone(UTC)) if now_text else SystemClock()
    worker = OutboxWorker(DatabaseOutboxStore(db), make_transport(settings), clock)
    result = asyncio.run(worker.flush())
    with db.transaction() as session:
        counts = Outbox(session).counts()
    click.echo(
        f"sent {result.sent}, retrying later {result.retrying}, failed {result.failed}; "
        f"outbox now: {json.dumps(counts, sort_keys=True)}"
    )
    db.close()
    if result.retrying or result.failed:
        sys.exit(1)


@main.group()
def imap() -> None:
    """IMAP mailboxes the gateway polls ([[imap]] in the config)."""


@imap.command("check")
@click.option(
    "--create-folders", is_flag=True, help="Create a missing done_folder or error_folder."
)
@click.pass_obj
def imap_check(obj: Context, create_folders: bool) -> None:
    """Connect to every [[imap]] mailbox: TLS, login, folders; exits 1 on any problem."""
    settings = obj.settings()
    mailboxes = all_mailboxes(settings)
    if not mailboxes:
        raise click.ClickException(
            f"no [[imap]] mailbox in {settings.source}; add one (see README, IMAP mailboxes)"
        )
    failed = False
    for n, mailbox in enumerate(mailboxes, start=1):
        click.echo(f"[[imap]] #{n} {mailbox.label} ({mailbox.security()})")
        for line in check_mailbox(mailbox, create_folders=create_folders):
            failed |= not line.ok
            mark = "FAIL" if not line.ok else "warn" if line.warning else "ok  "
            click.echo(f"  {mark}  {line.text}")
    if failed:
        sys.exit(1)


main.add_command(rules_group)
main.add_command(scheduler)
main.add_command(report)
main.add_command(quarantine)
main.add_command(ingest)
main.add_command(db)
main.add_command(doctor)
main.add_command(purge)
