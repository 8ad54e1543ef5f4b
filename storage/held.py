"""Ticket rows held for the length of one transaction.

The session's identity map holds rows weakly: a ticket created or read by one
effect and not referenced afterwards is collected, and the next effect's
`session.get` reads the same row again (four SELECTs of one ticket per new
mail). The repositories fetch ticket rows through here instead, which keeps a
strong reference in `session.info` until the session ends with its transaction.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from storage.models import TicketRow

_KEY = "ticketgate.held_tickets"


def hold(session: Session, row: TicketRow) -> TicketRow:
    session.info.setdefault(_KEY, {})[row.id] = row
    return row


def ticket_row(session: Session, number: int) -> TicketRow | None:
    held: dict[int, TicketRow] = session.info.setdefault(_KEY, {})
    row = held.get(number)
    if row is None:
        row = session.get(TicketRow, number)
        if row is not None:
            held[number] = row
    return row
