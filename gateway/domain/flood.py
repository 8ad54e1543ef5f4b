"""Loops and floods as values: the limits, what is counted, what is held and why.

Counting happens in the store (storage/flow.py) in sliding windows that a
restart does not reset; the pipeline reads the counts through its Facts port
and decides (gateway/intake/flood.py); the mailer applies the outbound limits
where it queues mail (gateway/mail/letters.py). Nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum


@dataclass(frozen=True)
class Rate:
    """At most `count` in any `window` (a sliding window, not a calendar bucket)."""

    count: int
    window: timedelta

    def exceeded_by(self, earlier: int) -> bool:
        """Whether one more, after `earlier` within the window, goes over."""
        return earlier + 1 > self.count

    def __str__(self) -> str:
        return f"{self.count} per {_duration(self.window)}"


def _duration(window: timedelta) -> str:
    seconds = int(window.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


# The defaults, chosen for a support desk answering people by mail (README "Loops and
# floods"): a person writes a handful of mails an hour; a robot writes one per mail it
# gets, seconds apart. None switches a limit off ("off" in [limits]).
@dataclass(frozen=True)
class FloodLimits:
    # Inbound, per sender: 30 mails in 10 minutes is one every 20 s, sustained; no
    # person writes to support like that, every mailbox robot in a loop does.
    sender_mails: Rate | None = Rate(30, timedelta(minutes=10))
    # Inbound, per ticket thread: a lively exchange is a few mails in 5 minutes; 10
    # (both sides together) is two robots answering each other.
    ticket_mails: Rate | None = Rate(10, timedelta(minutes=5))
    # Loop signals per sender (our Message-IDs in References outside a live thread, our
    # mail quoted back, the same text again): three in an hour is not a coincidence.
    loop_signals: Rate | None = Rate(3, timedelta(hours=1))
    # Tickets opened per sender: a school secretary opening 20 in an hour is a busy
    # morning; more is a robot, or a person better served by one ticket.
    sender_tickets: Rate | None = Rate(20, timedelta(hours=1))
    # Tickets opened by everyone: the last safety net (a mass mailing from an open
    # domain, a relay replaying its queue); ten times a busy desk's hour.
    global_tickets: Rate | None = Rate(1000, timedelta(hours=1))
    # Automatic mail (acks, rejections, notifications, reminders, status mail) to one
    # address: 40 in an hour keeps a busy agent informed and stops a loop at 40.
    recipient_mails: Rate | None = Rate(40, timedelta(hours=1))
    # Automatic mail about one ticket (every agent of the queue counts): 60 an hour.
    ticket_auto_mails: Rate | None = Rate(60, timedelta(hours=1))
    # Automatic mail in all: what a relay tolerates before the sender's reputation
    # suffers (providers throttle bulk around a few thousand an hour).
    global_mails: Rate | None = Rate(2000, timedelta(hours=1))
    # How long a source that tripped a limit stays held; the admins are mailed once.
    cool_down: timedelta = field(default=timedelta(hours=1))

    def longest_window(self) -> timedelta:
        rates = [r for r in vars(self).values() if isinstance(r, Rate)]
        return max((r.window for r in rates), default=timedelta(0))

    def reads(self, counter: Counter, key: str) -> bool:
        """Whether a limit that is on counts marks of `counter` for `key`: marks nothing
        reads are not written (a limit switched on later starts with an empty window)."""
        rate = {
            Counter.MAIL_FROM: self.sender_mails,
            Counter.MAIL_ON_TICKET: self.ticket_mails,
            Counter.LOOP_SIGNAL: self.loop_signals,
            Counter.TEXT_FROM: self.loop_signals,  # the repeated text is a loop signal
            Counter.TICKET_OPENED: self.global_tickets if key == EVERYONE else self.sender_tickets,
            Counter.AUTO_MAIL_TO: self.recipient_mails,
            Counter.AUTO_MAIL_ON_TICKET: self.ticket_auto_mails,
            Counter.AUTO_MAIL: self.global_mails,
        }[counter]
        return rate is not None


class Counter(StrEnum):
    """What one flow mark counts; stored as the mark's `counter` (a contract with rows)."""

    MAIL_FROM = "mail_from"  # an inbound mail, by sender
    MAIL_ON_TICKET = "mail_on_ticket"  # an inbound mail, by the ticket it is about
    LOOP_SIGNAL = "loop_signal"  # an inbound mail that looks machine-made, by sender
    TEXT_FROM = "text_from"  # an inbound mail's text, by sender and text digest
    TICKET_OPENED = "ticket_opened"  # by requester, and by "*" for everyone
    AUTO_MAIL_TO = "auto_mail_to"  # an automatic mail, by recipient
    AUTO_MAIL_ON_TICKET = "auto_mail_on_ticket"  # an automatic mail, by ticket
    AUTO_MAIL = "auto_mail"  # an automatic mail, by "*"


EVERYONE = "*"


class HoldSource(StrEnum):
    """What a cool-down holds: mail from one sender, mail on one ticket, or (for the
    global ticket limit) nothing but the record that the admins were told."""

    SENDER = "sender"
    TICKET = "ticket"
    EVERYONE = "everyone"


class QuarantineCause(StrEnum):
    """Why a mail is held for the admins (`ticketgate quarantine list`)."""

    OVERSIZED = "oversized"
    NO_SENDER = "no_sender"
    FORGED = "forged"
    UNPARSEABLE = "unparseable"
    LOOP = "loop"  # this mail tripped a limit; its source is now cooling down
    COOL_DOWN = "cool_down"  # it came from a source cooling down
    OTHER = "other"  # a quarantine that named no cause


class QuarantineState(StrEnum):
    HELD = "held"
    RELEASED = "released"  # run through the pipeline again by an admin
    DROPPED = "dropped"  # set aside by an admin; the raw bytes are kept until retention


class LoopSignal(StrEnum):
    """Why one mail looks machine-made; the value is how receipts and logs word it."""

    OUR_IDS = "References carry our own Message-IDs outside a live thread"
    QUOTED_BACK = "quotes our own mail back outside a live thread"
    REPEATED = "the same text again"
    REPEATED_ELSEWHERE = "the same answer on another ticket"


class Trip(StrEnum):
    """What a held loop went over: a `[limits]` key, or an agent's repeated answer."""

    SENDER_MAILS = "sender_mails"
    TICKET_MAILS = "ticket_mails"
    LOOP_SIGNALS = "loop_signals"
    SENDER_TICKETS = "sender_tickets"
    GLOBAL_TICKETS = "global_tickets"
    REPEATED_ANSWER = "repeated_answer"  # no limit: once is never what an agent meant


@dataclass(frozen=True)
class Tripped:
    """Why a loop was held, as data the admins' alert words in its own locale."""

    trip: Trip
    rate: Rate | None = None  # the limit gone over (None for a repeated answer)
    signals: tuple[LoopSignal, ...] = ()  # for loop_signals: what this mail showed


@dataclass(frozen=True)
class FlowReading:
    """What the pipeline counts about one inbound mail, recorded with its decision."""

    sender: str
    ticket: str | None  # the ticket it is about, by ref, when it threads into one
    # sender (+ ticket) + digest of the new words, to notice a robot repeating itself
    text_keys: tuple[str, ...]
    signals: tuple[LoopSignal, ...] = ()  # why it looks machine-made, if it does


@dataclass(frozen=True)
class Hold:
    """A source cooling down until `until`."""

    source: HoldSource
    key: str
    reason: str
    until: datetime


@dataclass(frozen=True)
class QuarantinedMail:
    """One held mail as `ticketgate quarantine list/show` prints it."""

    id: int
    held_at: datetime
    state: QuarantineState
    cause: QuarantineCause
    reason: str
    sender: str
    subject: str
    message_id: str | None
    raw_sha256: str
    size: int
    dedup_key: str
    channel: str
    mail_from: str | None
    rcpt_tos: tuple[str, ...]
    ticket: str | None  # the ticket it would have threaded into, by ref
    settled_at: datetime | None = None
    settled_by: str | None = None
    settled_outcome: str | None = None
