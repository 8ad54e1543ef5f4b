"""Command-line argument types and errors shared by the `ticketgate` command modules."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import click

from gateway.domain import TicketRef


class Refused(click.ClickException):
    """A file the admin wrote is refused (file:line:column): exit 2, told apart from a
    fault of the machine such as a busy port (exit 1)."""

    exit_code = 2


class TicketRefParam(click.ParamType):
    """A ticket ref such as TG-00042, with a usage error that shows the shape."""

    name = "REF"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> TicketRef:
        if isinstance(value, TicketRef):
            return value
        ref = TicketRef.parse(str(value))
        if ref is None:
            self.fail(f"'{value}' is not a ticket ref (they look like TG-00042)", param, ctx)
        return ref


TICKET_REF = TicketRefParam()


def instant(text: str, zone: ZoneInfo) -> datetime:
    """An ISO 8601 `--now`/`--since`; without an offset, in the gateway's zone."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise click.BadParameter(f"'{text}' is not an ISO 8601 instant") from exc
    return value.replace(tzinfo=zone) if value.tzinfo is None else value
