"""`ticketgate quarantine list|show|release|drop`: held mail, for the admins.

Mail is held when it is oversized, senderless, forged or unparseable, when it
tripped a loop or flood limit, or when it came from a source cooling down
(issue 12). `release` runs it through the pipeline as if it had just arrived,
from the raw bytes in the blob store; `drop` takes it off the list but keeps
the raw bytes and the receipt (audit, and the retention purge decides when raw
mail goes, not a click). Registered on the main group in gateway/cli/__init__.py.
"""

from __future__ import annotations

import getpass
import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import click

from gateway.domain.flood import QuarantinedMail, QuarantineState
from gateway.domain.storable import one_line
from gateway.runtime.edges import make_blobs
from storage.flow import FlowLedger, QuarantineStore
from storage.outbox import Outbox

PREVIEW_BYTES = 4000


def _iso(value: datetime | None, zone: ZoneInfo) -> str | None:
    return value.astimezone(zone).isoformat() if value else None


def held_json(held: QuarantinedMail, zone: ZoneInfo) -> dict[str, Any]:
    return {
        "id": held.id,
        "state": held.state.value,
        "cause": held.cause.value,
        "reason": held.reason,
        "sender": held.sender,
        "subject": held.subject,
        "message_id": held.message_id,
        "ticket": held.ticket,
        "channel": held.channel,
        "size": held.size,
        "raw_sha256": held.raw_sha256,
        "held_at": _iso(held.held_at, zone),
        "settled_at": _iso(held.settled_at, zone),
        "settled_by": held.settled_by,
        "settled_outcome": held.settled_outcome,
    }


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@click.group()
def quarantine() -> None:
    """Held mail: list, show, release (run it again) or drop it."""


@quarantine.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.option("--all", "show_all", is_flag=True, help="Released and dropped mail too.")
@click.pass_obj
def list_held(obj: Any, as_json: bool, show_all: bool) -> None:
    """Held mail, oldest first, and the sources cooling down."""
    db, zone = obj.database(), obj.tickets_zone()
    with db.transaction() as session:
        found = QuarantineStore(session).list(None if show_all else QuarantineState.HELD)
        holds = FlowLedger(session).holds(datetime.now().astimezone())
        suppressed = Outbox(session).counts().get("suppressed", 0)
    db.close()
    if as_json:
        click.echo(json.dumps([held_json(h, zone) for h in found], ensure_ascii=False, indent=2))
        return
    for h in found:
        when = h.held_at.astimezone(zone).isoformat(timespec="seconds")
        state = "" if h.state is QuarantineState.HELD else f" [{h.state.value}]"
        click.echo(
            f"#{h.id:<5} {when}  {h.cause.value:<11} {h.sender or '-':<28} "
            f"{one_line(h.subject)[:60]}{state}"
        )
    if not found:
        click.echo("no held mail")
    for hold in holds:
        until = hold.until.astimezone(zone).isoformat(timespec="minutes")
        click.echo(f"cooling down: {hold.source.value} {hold.key} until {until} ({hold.reason})")
    if suppressed:
        click.echo(
            f"{suppressed} automatic mail(s) over a limit kept unsent in the outbox "
            "(each ticket's log says which: mail_suppressed)"
        )


def _missing(held_id: int) -> click.ClickException:
    return click.ClickException(f"no held mail #{held_id}; `ticketgate quarantine list` shows them")


def _get(obj: Any, held_id: int) -> QuarantinedMail:
    db = obj.database()
    try:
        with db.transaction() as session:
            held = QuarantineStore(session).get(held_id)
    finally:
        db.close()
    if held is None:
        raise _missing(held_id)
    return held


@quarantine.command("show")
@click.argument("held_id", metavar="ID", type=int)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def show(obj: Any, held_id: int, as_json: bool) -> None:
    """One held mail: why, from whom, and the start of its raw bytes."""
    held = _get(obj, held_id)
    settings = obj.settings()
    blobs = make_blobs(settings)
    preview = ""
    if blobs.exists(held.raw_sha256):  # the start only: a held mail may be 25 MB
        with blobs.path_for(held.raw_sha256).open("rb") as raw:
            preview = raw.read(PREVIEW_BYTES).decode("utf-8", "replace")
    data = held_json(held, obj.tickets_zone())
    data["recipients"] = list(held.rcpt_tos)
    data["raw_preview"] = preview
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    for key in ("id", "state", "cause", "reason", "sender", "subject", "message_id", "ticket"):
        click.echo(f"{key + ':':<12} {data[key] if data[key] is not None else '-'}")
    click.echo(f"held at:     {data['held_at']}  ({held.size} bytes, sha256 {held.raw_sha256})")
    click.echo("\n" + "".join(ch if ch.isprintable() or ch in "\n\t" else "?" for ch in preview))


@quarantine.command("release")
@click.argument("held_id", metavar="ID", type=int)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def release(obj: Any, held_id: int, as_json: bool) -> None:
    """Run a held mail through the pipeline as if it had just arrived."""
    gateway = obj.gateway()
    try:
        receipt = gateway.intake.release(held_id, _actor())
    except LookupError as exc:
        raise _missing(held_id) from exc
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        gateway.close()
    ticket = str(receipt.ticket) if receipt.ticket else None
    if as_json:
        click.echo(
            json.dumps(
                {
                    "id": held_id,
                    "outcome": receipt.outcome.value,
                    "ticket": ticket,
                    "reason": receipt.reason,
                },
                ensure_ascii=False,
            )
        )
    else:
        click.echo(
            f"#{held_id} released: {receipt.outcome.value}" + (f" {ticket}" if ticket else "")
        )


@quarantine.command("drop")
@click.argument("held_id", metavar="ID", type=int)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def drop(obj: Any, held_id: int, as_json: bool) -> None:
    """Take a held mail off the list; its raw bytes are kept for audit until retention
    ([retention] closed_ticket_days) removes them, its receipt for good."""
    db = obj.database()
    try:  # read, check and settle under one row lock: a release at the same time wins or waits
        with db.transaction() as session:
            store = QuarantineStore(session)
            held = store.still_held(held_id)
            store.settle(held_id, QuarantineState.DROPPED, datetime.now().astimezone(), by=_actor())
    except LookupError as exc:
        raise _missing(held_id) from exc
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        db.close()
    if as_json:
        click.echo(json.dumps({"id": held_id, "state": QuarantineState.DROPPED.value}))
    else:
        click.echo(f"#{held_id} dropped (raw bytes kept: sha256 {held.raw_sha256})")
