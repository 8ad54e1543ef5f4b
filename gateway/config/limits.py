"""The `[limits]` table of ticketgate.toml: loop and flood limits (issue 12).

Each limit is written `"N per DURATION"` (`"30 per 10m"`, `"20 per 1h"`) or
`"off"`; durations are calendar time in `s`, `m`, `h` or `d`. Anything left out
keeps the default of gateway/domain/flood.py, where each default says why.
"""

from __future__ import annotations

import re
from datetime import timedelta

from pydantic import BaseModel, ConfigDict, field_validator

from gateway.domain.flood import FloodLimits, Rate

_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d)\s*$")
_RATE = re.compile(r"^\s*(\d+)\s*(?:per|/)\s*(.+)$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> timedelta:
    match = _DURATION.match(text)
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"'{text}' is not a duration; write it as 30s, 10m, 1h or 2d")
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


def parse_rate(text: str) -> Rate | None:
    """`"30 per 10m"` → Rate(30, 10 minutes); `"off"` → None."""
    if text.strip().lower() == "off":
        return None
    match = _RATE.match(text)
    if not match or int(match.group(1)) < 1:
        raise ValueError(f'\'{text}\' is not a limit; write it as "30 per 10m" or "off"')
    return Rate(int(match.group(1)), parse_duration(match.group(2)))


_DEFAULTS = FloodLimits()


def _written(rate: Rate | None) -> str:
    return "off" if rate is None else str(rate)


class LimitsSection(BaseModel):
    """`[limits]`: every key optional; see FloodLimits for what each one counts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sender_mails: str = _written(_DEFAULTS.sender_mails)
    ticket_mails: str = _written(_DEFAULTS.ticket_mails)
    loop_signals: str = _written(_DEFAULTS.loop_signals)
    sender_tickets: str = _written(_DEFAULTS.sender_tickets)
    global_tickets: str = _written(_DEFAULTS.global_tickets)
    recipient_mails: str = _written(_DEFAULTS.recipient_mails)
    ticket_auto_mails: str = _written(_DEFAULTS.ticket_auto_mails)
    global_mails: str = _written(_DEFAULTS.global_mails)
    cool_down: str = "1h"

    @field_validator(
        "sender_mails",
        "ticket_mails",
        "loop_signals",
        "sender_tickets",
        "global_tickets",
        "recipient_mails",
        "ticket_auto_mails",
        "global_mails",
    )
    @classmethod
    def _rate(cls, value: str) -> str:
        parse_rate(value)
        return value

    @field_validator("cool_down")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value

    def limits(self) -> FloodLimits:
        return FloodLimits(
            sender_mails=parse_rate(self.sender_mails),
            ticket_mails=parse_rate(self.ticket_mails),
            loop_signals=parse_rate(self.loop_signals),
            sender_tickets=parse_rate(self.sender_tickets),
            global_tickets=parse_rate(self.global_tickets),
            recipient_mails=parse_rate(self.recipient_mails),
            ticket_auto_mails=parse_rate(self.ticket_auto_mails),
            global_mails=parse_rate(self.global_mails),
            cool_down=parse_duration(self.cool_down),
        )
