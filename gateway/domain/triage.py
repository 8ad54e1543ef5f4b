"""Triage: what the rules engine reads of a message and what it decides."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gateway.domain.directory import Contact
from gateway.domain.tickets import Triage


@dataclass(frozen=True)
class TriageInput:
    """Everything a triage rule may look at, as plain values (no storage rows)."""

    sender: str
    sender_name: str
    organization: str | None
    contact: Contact | None
    is_agent: bool
    recipients: tuple[str, ...]
    subject: str
    body: str
    headers: tuple[tuple[str, str], ...]
    attachments: tuple[tuple[str, str], ...]  # (filename, content type)
    is_new: bool
    local_time: datetime
    in_business_hours: bool


@dataclass(frozen=True)
class RuleMatch:
    """One rule that matched, where it lives and why it matched."""

    file: str
    line: int
    name: str
    version: str
    why: tuple[str, ...]
    sets: tuple[str, ...]


@dataclass(frozen=True)
class TriageOutcome:
    """The result of running a rule set over one message."""

    triage: Triage
    assignee: str | None = None
    followers: tuple[str, ...] = ()
    reply_with: str | None = None
    reject_with: str | None = None
    ignore: bool = False
    matches: tuple[RuleMatch, ...] = ()
    set_by: tuple[tuple[str, str], ...] = ()  # (field, rule name) for the audit log
