"""Command-line argument types shared by the `ticketgate` command modules."""

from __future__ import annotations

import click

from gateway.domain import TicketRef


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
