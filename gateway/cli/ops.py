"""`ticketgate db upgrade|current` and `ticketgate doctor`: the operator's commands.

An operator installs, upgrades and diagnoses the gateway like any Linux service:
`db` moves the schema on purpose (before starting a new release on several
instances), and `doctor` tries everything `serve` will need — files, secret,
database, relay, mailboxes, ports — and says, for each problem, what to fix.
Nothing here sends mail or changes a ticket.
"""

from __future__ import annotations

import errno
import json
import os
import smtplib
import socket
import ssl
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

import click
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from gateway.cli.rules import check_files
from gateway.config.settings import Settings
from gateway.runtime.imap_runner import all_mailboxes
from inbound.imap import check_mailbox
from rules.sourcefile import SourceFileError
from storage.db import make_engine, migrate, schema_revision

PROBE_SECONDS = 5.0


@dataclass(frozen=True)
class Finding:
    """One line of `doctor`: what was checked, whether it is usable, and what to do if not."""

    area: str
    ok: bool
    text: str
    warning: bool = False

    @property
    def mark(self) -> str:
        return "FAIL" if not self.ok else "warn" if self.warning else "ok  "


@click.group()
def db() -> None:
    """The database schema: see where it stands, or upgrade it."""


@db.command("current")
@click.option("--json", "as_json", is_flag=True, help="Print the revisions as JSON.")
@click.pass_obj
def db_current(obj: Any, as_json: bool) -> None:
    """Print the schema revision of the store and the newest this release ships; exit 1
    when the store is behind (run `ticketgate db upgrade`)."""
    settings: Settings = obj.settings()
    engine = make_engine(settings.storage_url)
    try:
        revision = schema_revision(engine)
    except SQLAlchemyError as exc:
        raise click.ClickException(_database_trouble(settings, exc)) from exc
    finally:
        engine.dispose()
    if as_json:
        data = {**asdict(revision), "is_current": revision.is_current}
        click.echo(json.dumps(data))
    else:
        state = "current" if revision.is_current else "behind: run `ticketgate db upgrade`"
        click.echo(f"database {revision.current or '(empty)'}, release {revision.head}: {state}")
    if not revision.is_current:
        raise SystemExit(1)


@db.command("upgrade")
@click.pass_obj
def db_upgrade(obj: Any) -> None:
    """Bring the schema to this release's newest revision (serve also does at start-up;
    run it first when several instances share one PostgreSQL)."""
    settings: Settings = obj.settings()
    engine = make_engine(settings.storage_url)
    try:
        before = schema_revision(engine).current
        migrate(engine)
        after = schema_revision(engine).current
    except SQLAlchemyError as exc:
        raise click.ClickException(_database_trouble(settings, exc)) from exc
    finally:
        engine.dispose()
    if before == after:
        click.echo(f"database already at {after}")
    else:
        click.echo(f"database upgraded from {before or '(empty)'} to {after}")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per finding.")
@click.pass_obj
def doctor(obj: Any, as_json: bool) -> None:
    """Check config, directory, rules, policy, templates, secret, database, relay, IMAP and
    ports the way `serve` will use them; say what to fix; exit 1 on any problem."""
    try:
        settings: Settings = obj.settings()
    except click.ClickException as exc:
        findings = [Finding("config", False, exc.message)]
    else:
        findings = list(diagnose(settings))
    for finding in findings:
        if as_json:
            click.echo(json.dumps({**asdict(finding), "mark": finding.mark.strip()}))
        else:
            click.echo(f"{finding.mark}  {finding.area}: {finding.text}")
    problems = sum(not f.ok for f in findings)
    if not as_json:
        click.echo(
            f"{problems} problem(s) to fix before `serve`" if problems else "all checks passed",
            err=True,
        )
    if problems:
        raise SystemExit(1)


def diagnose(settings: Settings) -> Iterator[Finding]:
    """Every check, in the order `serve` meets them at start-up."""
    problems, summary = check_files(settings)
    for valid in summary:
        yield Finding("files", True, valid)
    for problem in problems:
        yield Finding("files", False, f"{problem}  (fix the file; `rules check` shows the same)")
    yield from _secret(settings)
    yield from _data_dir(settings)
    yield from _database(settings)
    yield from _relay(settings)
    for mailbox in all_mailboxes(settings):
        for line in check_mailbox(mailbox):
            yield Finding(f"imap {mailbox.label}", line.ok, line.text, line.warning)
    http = settings.file.http
    yield from _port("smtp", settings.file.smtp.host, settings.file.smtp.port)
    yield from _port("http", http.host, http.port)


def _secret(settings: Settings) -> Iterator[Finding]:
    try:
        secret = settings.secret()
    except SourceFileError:
        yield Finding(
            "secret",
            True,
            f"no signing key yet: serve creates {settings.data_dir / 'secret'} on first start; "
            f"instances sharing a database need one key, set {settings.gateway.secret_env} "
            "in each",
            warning=True,
        )
        return
    if len(secret) < 16:
        yield Finding("secret", True, "the signing secret is short: use 32 random bytes", True)
    else:
        yield Finding("secret", True, "signing secret present")


def _data_dir(settings: Settings) -> Iterator[Finding]:
    folder = settings.data_dir
    if not folder.exists():
        yield Finding("data", True, f"{folder} does not exist yet; serve creates it", True)
    elif os.access(folder, os.W_OK):
        yield Finding("data", True, f"{folder} is writable (raw mail and attachments)")
    else:
        yield Finding("data", False, f"{folder} is not writable by this user: fix its owner")


def _database(settings: Settings) -> Iterator[Finding]:
    engine = make_engine(settings.storage_url)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        yield Finding("database", True, f"reachable ({engine.url.render_as_string()})")
        revision = schema_revision(engine)
    except SQLAlchemyError as exc:
        yield Finding("database", False, _database_trouble(settings, exc))
        return
    finally:
        engine.dispose()
    if revision.is_current:
        yield Finding("database", True, f"schema at {revision.head}, this release's newest")
    else:
        yield Finding(
            "database",
            True,
            f"schema at {revision.current or '(empty)'}, release ships {revision.head}: "
            "`ticketgate db upgrade` (serve would also upgrade it at start-up)",
            warning=True,
        )


def _relay(settings: Settings) -> Iterator[Finding]:
    if settings.relay_pickup_dir is not None:
        folder = settings.relay_pickup_dir
        usable = os.access(folder if folder.exists() else folder.parent, os.W_OK)
        yield Finding(
            "relay",
            usable,
            f"outgoing mail is written to {folder}"
            if usable
            else f"cannot write outgoing mail to {folder}: fix its owner or [relay] pickup_dir",
        )
        return
    relay = settings.file.relay
    where = f"{relay.host}:{relay.port}"
    try:
        with smtplib.SMTP(relay.host, relay.port, timeout=PROBE_SECONDS) as client:
            client.ehlo()
            if relay.starttls:
                if not client.has_extn("starttls"):
                    yield Finding("relay", False, f"{where} does not offer STARTTLS: fix [relay]")
                    return
                client.starttls(context=ssl.create_default_context())
                client.ehlo()
            yield Finding("relay", True, f"{where} answers ({_first_line(client.ehlo_resp)})")
    except (OSError, smtplib.SMTPException) as exc:
        yield Finding(
            "relay",
            False,
            f"cannot reach the relay at {where}: {exc}. Start the MTA or fix [relay] host/port; "
            "mail stays queued in the outbox until it answers",
        )


def _port(area: str, host: str, port: int) -> Iterator[Finding]:
    if port == 0:
        yield Finding(area, True, f"{host}: a free port is chosen at start-up")
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                yield Finding(
                    area,
                    True,
                    f"{host}:{port} is in use: fine if `ticketgate serve` runs here, "
                    "else another program holds it (change the port)",
                    warning=True,
                )
            else:
                yield Finding(area, False, f"cannot listen on {host}:{port}: {exc}")
            return
    yield Finding(area, True, f"{host}:{port} is free to listen on")


def _database_trouble(settings: Settings, exc: Exception) -> str:
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    return (
        f"cannot use the database ({reason}). Is the server up and [storage] url in "
        f"{settings.source} right?"
    )


def _first_line(data: bytes | None) -> str:
    return (data or b"").decode("ascii", "replace").splitlines()[0] if data else "EHLO ok"
