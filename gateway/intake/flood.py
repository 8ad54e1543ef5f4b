"""The pipeline's loop and flood steps (issue 12): count, hold, stop answering.

A mailbox robot that answers every mail without Auto-Submitted headers, with a
new subject and no In-Reply-To, looks like a customer to every other step. These
steps look at how much and how it writes instead: mail from one sender or on one
ticket within a window, tickets it opened, and loop signals (our own Message-IDs
in References outside a live thread, our mail quoted back, the same text again).
Over a limit the mail is held (`HoldLoop`): stored, unanswered, its source cooling
down, the admins told once. Pure: counts come through `Facts`, the clock is the
decision's instant, and the marks are written by the use case with the decision.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

from gateway.domain import (
    AuthorRole,
    CreateTicket,
    Decision,
    HoldLoop,
    Quarantine,
    TicketRef,
)
from gateway.domain.flood import (
    EVERYONE,
    Counter,
    FlowReading,
    HoldSource,
    LoopSignal,
    QuarantineCause,
    Rate,
    Trip,
    Tripped,
)
from gateway.intake.assessment import Assessment
from gateway.intake.facts import Facts
from outbound.compose import is_our_message_id


def _our_domains(facts: Facts) -> set[str]:
    return {address.rpartition("@")[2].lower() for address in facts.support_addresses}


def _live(a: Assessment) -> bool:
    """A reply to a thread we know: it matched a ticket (a closed one too: a survey
    answer quotes our mail; a robot answering there is counted on that ticket)."""
    return a.ticket is not None


def read_flow(a: Assessment, facts: Facts) -> Assessment | Decision:
    """What this mail adds to the counts, and whether it looks machine-made."""
    msg = a.message
    assert msg.sender is not None
    sender = msg.sender.address
    signals: list[LoopSignal] = []
    if not _live(a):
        ours = _our_domains(facts)
        quoted = [m for m in (*msg.references, *msg.in_reply_to) if is_our_message_id(m, ours)]
        if quoted:
            signals.append(LoopSignal.OUR_IDS)
        if TicketRef.find_in_subject(msg.text_body) or TicketRef.find_in_subject(msg.html_body):
            signals.append(LoopSignal.QUOTED_BACK)
    text_keys: tuple[str, ...] = ()
    # The words, not an agent's `#` command lines: "#assumir" twice is a person.
    words = " ".join(
        " ".join(line.split())
        for line in a.new_text.splitlines()
        if not line.lstrip().startswith("#")
    ).strip()
    rate = facts.flood_limits.loop_signals
    if words and a.ticket is not None:
        # Within one thread: "Resolvido, obrigado" on two tickets is a person; the same
        # words on one ticket again and again are a robot answering our mail there (a
        # robot that opens a new ticket each time is caught by the rates instead).
        digest = hashlib.sha256(words.lower().encode()).hexdigest()[:32]
        here = f"{sender}:{a.ticket.ref}:{digest}"
        text_keys = (here,)
        if rate is not None and facts.count(Counter.TEXT_FROM, here, rate.window):
            signals.append(LoopSignal.REPEATED)
        if a.role is AuthorRole.AGENT:
            # An agent mailbox's robot answers every ticket's notification with one text:
            # the same words on other tickets count too (a reply pasted now and then stays
            # under the limit; a robot does not).
            anywhere = f"{sender}:*:{digest}"
            text_keys += (anywhere,)
            seen = rate is not None and facts.count(Counter.TEXT_FROM, anywhere, rate.window)
            if seen and LoopSignal.REPEATED not in signals:
                signals.append(LoopSignal.REPEATED_ELSEWHERE)
    ticket = str(a.ticket.ref) if a.ticket is not None else None
    return replace(a, flow=FlowReading(sender, ticket, text_keys, tuple(signals)))


def hold_cooling_sources(a: Assessment, facts: Facts) -> Assessment | Decision:
    """Mail from a sender, or on a ticket, that is cooling down after a loop is held."""
    if a.flow is None:
        return a
    sources = [(HoldSource.SENDER, a.flow.sender)]
    if a.flow.ticket is not None:
        sources.append((HoldSource.TICKET, a.flow.ticket))
    found = facts.active_hold(*sources)
    if found is None:
        return a
    return Quarantine(
        f"held: {found.source.value} {found.key} is cooling down after a loop "
        f"until {found.until.isoformat(timespec='seconds')} ({found.reason})",
        cause=QuarantineCause.COOL_DOWN,
        ticket=a.ticket.ref if a.ticket else None,
    )


def _over(facts: Facts, rate: Rate | None, counter: Counter, key: str | None) -> bool:
    """Whether this mail, one more, goes over `rate` for `key` (None: off, or no key)."""
    if rate is None or key is None:
        return False
    return rate.exceeded_by(facts.count(counter, key, rate.window))


def detect_loop(a: Assessment, facts: Facts) -> Assessment | Decision:
    """Too much mail from one sender or on one thread, answered or not, or too many
    loop signals: a robot. This mail is held and its source cools down."""
    if a.flow is None:
        return a
    flow, limits = a.flow, facts.flood_limits
    ticket = a.ticket.ref if a.ticket else None
    if _over(facts, limits.sender_mails, Counter.MAIL_FROM, flow.sender):
        return HoldLoop(
            f"mail from {flow.sender} over sender_mails ({limits.sender_mails})",
            source=HoldSource.SENDER,
            key=flow.sender,
            tripped=Tripped(Trip.SENDER_MAILS, limits.sender_mails),
            ticket=ticket,
        )
    if _over(facts, limits.ticket_mails, Counter.MAIL_ON_TICKET, flow.ticket):
        assert flow.ticket is not None
        return HoldLoop(
            f"mail on {flow.ticket} over ticket_mails ({limits.ticket_mails})",
            source=HoldSource.TICKET,
            key=flow.ticket,
            tripped=Tripped(Trip.TICKET_MAILS, limits.ticket_mails),
            ticket=ticket,
        )
    repeated = LoopSignal.REPEATED in flow.signals
    if a.role is AuthorRole.AGENT and flow.ticket is not None and repeated:
        # Relaying the same answer to a customer twice is never what an agent meant; it
        # is an agent mailbox's robot answering our notifications (issue 12).
        return HoldLoop(
            f"{flow.sender} repeated an earlier answer on {flow.ticket}: not relayed",
            source=HoldSource.TICKET,
            key=flow.ticket,
            tripped=Tripped(Trip.REPEATED_ANSWER),
            ticket=ticket,
        )
    if flow.signals and _over(facts, limits.loop_signals, Counter.LOOP_SIGNAL, flow.sender):
        return HoldLoop(
            f"loop signals from {flow.sender} over loop_signals ({limits.loop_signals}): "
            + "; ".join(flow.signals),
            source=HoldSource.SENDER,
            key=flow.sender,
            tripped=Tripped(Trip.LOOP_SIGNALS, limits.loop_signals, flow.signals),
            ticket=ticket,
        )
    return a


def cap_new_tickets(decision: Decision, a: Assessment, facts: Facts) -> Decision:
    """A ticket over the per-sender or global limit of tickets opened is not opened:
    the mail is held (kept, releasable) and the admins are told once."""
    if not isinstance(decision, CreateTicket) or a.flow is None:
        return decision
    limits = facts.flood_limits
    requester = decision.requester_or(a.flow.sender)
    by_person = a.role is not AuthorRole.AGENT
    if by_person and _over(facts, limits.sender_tickets, Counter.TICKET_OPENED, requester):
        return HoldLoop(
            f"tickets opened by {requester} over sender_tickets ({limits.sender_tickets})",
            source=HoldSource.SENDER,
            key=requester,
            tripped=Tripped(Trip.SENDER_TICKETS, limits.sender_tickets),
        )
    if _over(facts, limits.global_tickets, Counter.TICKET_OPENED, EVERYONE):
        return HoldLoop(
            f"tickets opened by everyone over global_tickets ({limits.global_tickets})",
            source=HoldSource.EVERYONE,
            key=EVERYONE,
            tripped=Tripped(Trip.GLOBAL_TICKETS, limits.global_tickets),
        )
    return decision
