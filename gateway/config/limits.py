"""The `[limits]` table of ticketgate.toml: loop and flood limits (issue 12).

Each limit is written `"N per DURATION"` (`"30 per 10m"`, `"20 per 1h"`) or
`"off"`; durations are calendar time in `s`, `m`, `h` or `d`. Anything left out
keeps the default of gateway/domain/flood.py, where each default says why.
"""

from __future__ import annotations

import re
from dataclasses import fields
from datetime import timedelta
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict

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


def _rate(value: object) -> Rate | None:
    if value is None or isinstance(value, Rate):  # a default
        return value
    if not isinstance(value, str):
        raise ValueError(f'{value!r} is not a limit; write it as "30 per 10m" or "off"')
    return parse_rate(value)


def _duration(value: object) -> timedelta:
    if isinstance(value, timedelta):  # the default
        return value
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a duration; write it as 30s, 10m, 1h or 2d")
    return parse_duration(value)


# A limit as the file writes it ("30 per 10m", "off"), parsed once when the file is read.
Limit = Annotated[Rate | None, BeforeValidator(_rate)]
_DEFAULTS = FloodLimits()


class LimitsSection(BaseModel):
    """`[limits]`: every key optional; see FloodLimits for what each one counts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sender_mails: Limit = _DEFAULTS.sender_mails
    ticket_mails: Limit = _DEFAULTS.ticket_mails
    loop_signals: Limit = _DEFAULTS.loop_signals
    sender_tickets: Limit = _DEFAULTS.sender_tickets
    global_tickets: Limit = _DEFAULTS.global_tickets
    recipient_mails: Limit = _DEFAULTS.recipient_mails
    ticket_auto_mails: Limit = _DEFAULTS.ticket_auto_mails
    global_mails: Limit = _DEFAULTS.global_mails
    cool_down: Annotated[timedelta, BeforeValidator(_duration)] = _DEFAULTS.cool_down

    def limits(self) -> FloodLimits:
        return FloodLimits(**{f.name: getattr(self, f.name) for f in fields(FloodLimits)})
