"""`ticketgate scheduler …` and `ticketgate report surveys`: the lifecycle's commands.

`scheduler run-once --now ISO` builds the gateway with a fixed clock at that
instant and runs every due timer once (time travel for tests; catching up
for operators). `scheduler timers REF` shows a ticket's timers. `report
surveys` summarizes the answers per agent, queue and month. Registered on
the main group at the end of gateway/cli.py.
"""

from __future__ import annotations

import json
from datetime import UTC
from zoneinfo import ZoneInfo

import click

from gateway.cli.params import TICKET_REF, instant_or_now
from gateway.domain import TicketRef
from gateway.domain.clock import FixedClock
from gateway.lifecycle.surveys import summarize
from gateway.runtime.app import build
from rules.sourcefile import SourceFileError
from storage.lifecycle import LifecycleStore


@click.group()
def scheduler() -> None:
    """Lifecycle timers: reminders, auto-resolve/close, SLA warnings and escalations."""


@scheduler.command("run-once")
@click.option("--now", "now_text", default=None, help="Run as of this ISO 8601 instant.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def run_once(obj: object, now_text: str | None, as_json: bool) -> None:
    """Run every timer due at NOW (default: the current time) once, then exit."""
    settings = obj.settings()  # type: ignore[attr-defined]
    now = instant_or_now(now_text, ZoneInfo(settings.gateway.timezone))
    try:
        gateway = build(settings, clock=FixedClock(now.astimezone(UTC)))
    except SourceFileError as exc:
        raise click.ClickException(f"{exc}\nFix the file(s) above and run again.") from exc
    try:
        result = gateway.sweeper.run_once(now.astimezone(UTC))
    finally:
        gateway.close()
    if as_json:
        click.echo(
            json.dumps(
                {"now": now.isoformat(), "fired": dict(result.fired), "failed": result.failed}
            )
        )
    else:
        done = ", ".join(f"{n} {what}" for what, n in sorted(result.fired.items()))
        click.echo(f"as of {now.isoformat()}: {done or 'nothing due'}")
    if result.failed:
        raise SystemExit(1)


@scheduler.command("timers")
@click.argument("parsed", metavar="REF", type=TICKET_REF)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def timers(obj: object, parsed: TicketRef, as_json: bool) -> None:
    """A ticket's timers: kind, due time and state (pending, fired, cancelled)."""
    db = obj.database()  # type: ignore[attr-defined]
    with db.transaction() as session:
        rows = LifecycleStore(session).timers(parsed)
    db.close()
    data = [
        {"kind": t.kind, "key": t.key, "due": t.due.isoformat(), "state": t.state}
        for t in rows
    ]
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    for item in data:
        click.echo(f"{item['due']}  {item['state']:<9} {item['kind']:<12} {item['key']}")


@click.group()
def report() -> None:
    """Reports over the store."""


@report.command("surveys")
@click.option("--since", default=None, help="Surveys sent from this date (ISO 8601).")
@click.option("--until", default=None, help="Surveys sent before this date (ISO 8601).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def report_surveys(obj: object, since: str | None, until: str | None, as_json: bool) -> None:
    """Survey results per agent, queue and month: sent, answered, average 1–5, % yes."""
    settings = obj.settings()  # type: ignore[attr-defined]
    zone = ZoneInfo(settings.gateway.timezone)
    start = instant_or_now(since, zone) if since else None
    end = instant_or_now(until, zone) if until else None
    db = obj.database()  # type: ignore[attr-defined]
    with db.transaction() as session:
        rows = LifecycleStore(session).survey_rows(start, end)
    db.close()
    lines = summarize(rows)
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "group": line.group,
                        "key": line.key,
                        "sent": line.sent,
                        "answered": line.answered,
                        "average_rating": line.average_rating,
                        "met_expectation_pct": line.met_expectation_pct,
                    }
                    for line in lines
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    if not lines:
        click.echo("no surveys sent yet")
        return
    click.echo(f"{'':<6} {'':<30} {'sent':>5} {'answered':>9} {'avg 1-5':>8} {'met %':>6}")
    for line in lines:
        average = f"{line.average_rating:.2f}" if line.average_rating is not None else "-"
        met = f"{line.met_expectation_pct:.0f}" if line.met_expectation_pct is not None else "-"
        click.echo(
            f"{line.group:<6} {line.key:<30} {line.sent:>5} {line.answered:>9} "
            f"{average:>8} {met:>6}"
        )
