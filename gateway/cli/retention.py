"""`ticketgate purge [--dry-run]`: retention (LGPD) by hand.

Deletes the raw mail and attachments of tickets closed more than
`[retention] closed_ticket_days` ago, and held mail released or dropped that
long ago with its raw bytes (gateway/lifecycle/retention.py); `--dry-run`
lists what would go and deletes nothing. Registered on the main
group at the end of gateway/cli/__init__.py.
"""

from __future__ import annotations

import json
from datetime import UTC
from zoneinfo import ZoneInfo

import click

from gateway.cli.params import instant_or_now
from gateway.domain import TicketRef
from gateway.lifecycle.retention import Retention
from gateway.runtime.edges import make_blobs


@click.command()
@click.option("--dry-run", is_flag=True, help="List what would be deleted; delete nothing.")
@click.option(
    "--days",
    type=click.IntRange(min=0),
    default=None,
    help="Days after closing (or settling a held mail) to keep files "
    "(default: [retention] closed_ticket_days).",
)
@click.option("--now", "now_text", default=None, help="Judge as of this ISO 8601 instant.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def purge(
    obj: object, dry_run: bool, days: int | None, now_text: str | None, as_json: bool
) -> None:
    """Delete raw mail and attachments of tickets closed, and held mail settled, long ago
    (LGPD retention)."""
    settings = obj.settings()  # type: ignore[attr-defined]
    days = days if days is not None else settings.file.retention.closed_ticket_days
    if days is None:
        raise click.ClickException(
            "no retention set: add [retention] closed_ticket_days = N to the config "
            "(or give --days N)"
        )
    now = instant_or_now(now_text, ZoneInfo(settings.gateway.timezone)).astimezone(UTC)
    db = obj.database()  # type: ignore[attr-defined]
    try:
        retention = Retention(db, make_blobs(settings), days)
        found = retention.expired(now) if dry_run else retention.purge(now)
    finally:
        db.close()
    items = found.files
    files = [
        {
            "ticket": str(TicketRef(item.file.ticket)) if item.file.ticket is not None else None,
            "kind": item.file.kind,
            "name": item.file.name,
            "sha256": item.file.sha256,
            "size": item.size,
        }
        for item in items
    ]
    total = sum(item.size for item in items)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "dry_run": dry_run,
                    "closed_ticket_days": days,
                    "files": files,
                    "bytes": total,
                    "held_mail": found.held,
                },
                indent=2,
            )
        )
        return
    for f in files:
        click.echo(f"{f['ticket'] or 'held':<8}  {f['kind']:<10}  {f['size']:>10}  {f['name']}")
    verb = "would delete" if dry_run else "deleted"
    click.echo(
        f"{verb} {len(files)} file(s), {total} bytes, of tickets closed more than {days} day(s) ago"
        f" and of {found.held} held mail(s) released or dropped as long ago"
    )
