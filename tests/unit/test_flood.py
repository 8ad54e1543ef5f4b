"""The loop and flood steps on their own (issue 12): counts come from an in-memory Facts."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from gateway.config.limits import LimitsSection, parse_rate
from gateway.domain import (
    AgentUpdate,
    CreateTicket,
    EmailAddress,
    Envelope,
    HoldLoop,
    ParsedMessage,
    Quarantine,
    ThreadUpdate,
    TicketRef,
    TicketStatus,
    TokenPurpose,
)
from gateway.domain.flood import EVERYONE, Counter, Hold, HoldSource, QuarantineCause, Rate
from gateway.intake import steps as pipeline
from tests.unit.test_pipeline import AGENT_AUTH, ANA, TICKET, TOKENS, MemoryFacts, mail

MARIA = "maria@alfa.edu.br"
UNTIL = datetime(2026, 11, 23, 14, 0).astimezone()


def facts(**counts: int) -> MemoryFacts:
    found = MemoryFacts()
    for name, n in counts.items():
        counter, _, key = name.partition("__")
        keys = {"maria": MARIA, "t7": "TG-00007", "all": EVERYONE}
        found.counts[(Counter(counter), keys[key])] = n
    return found


def test_a_sender_over_its_mail_limit_is_held_and_cools_down() -> None:
    assert isinstance(pipeline.run(mail(), facts(mail_from__maria=29)), CreateTicket)
    held = pipeline.run(mail(), facts(mail_from__maria=30))
    assert isinstance(held, HoldLoop)
    assert (held.source, held.key) == (HoldSource.SENDER, MARIA)
    assert "30 per 10m" in held.reason


def test_a_thread_over_its_mail_limit_is_held_whoever_writes() -> None:
    reply = mail(subject="Re: [#TG-00007] Sistema fora do ar")
    assert isinstance(pipeline.run(reply, facts(mail_on_ticket__t7=9)), ThreadUpdate)
    held = pipeline.run(reply, facts(mail_on_ticket__t7=10))
    assert isinstance(held, HoldLoop)
    assert (held.source, held.key, str(held.ticket)) == (HoldSource.TICKET, "TG-00007", "TG-00007")


def test_mail_from_a_source_cooling_down_is_quarantined_not_answered() -> None:
    world = MemoryFacts()
    world.holds[(HoldSource.SENDER, MARIA)] = Hold(HoldSource.SENDER, MARIA, "robot", UNTIL)
    held = pipeline.run(mail(), world)
    assert isinstance(held, Quarantine) and held.cause is QuarantineCause.COOL_DOWN
    world = MemoryFacts()
    world.holds[(HoldSource.TICKET, "TG-00007")] = Hold(HoldSource.TICKET, "TG-00007", "x", UNTIL)
    held = pipeline.run(mail(subject="[#TG-00007] de novo"), world)
    assert isinstance(held, Quarantine) and str(held.ticket) == "TG-00007"
    assert isinstance(pipeline.run(mail(), world), CreateTicket), "another thread is not held"


def test_our_message_ids_outside_a_live_thread_are_a_loop_signal() -> None:
    robot = mail(references=("<1.2.tg@example.com>",), subject="Resposta automática")
    reading, decision = pipeline.assess(robot, facts())
    assert isinstance(decision, CreateTicket)  # one signal is not a loop yet
    assert reading.flow is not None and reading.flow.signals
    assert isinstance(pipeline.run(robot, facts(loop_signal__maria=3)), HoldLoop)
    # Only the Message-IDs the gateway made count, not any at our domain (agents' own).
    colleague = replace(robot, references=("<a1b2c3@example.com>",))
    reading, _ = pipeline.assess(colleague, facts())
    assert reading.flow is not None and not reading.flow.signals
    # A reply to a live ticket carries our Message-IDs too: no signal.
    world = facts(loop_signal__maria=3)
    world.message_ids["<1.2.tg@example.com>"] = TICKET.ref
    human = mail(in_reply_to=("<1.2.tg@example.com>",), subject="Re: Sistema fora do ar")
    reading, decision = pipeline.assess(human, world)
    assert isinstance(decision, ThreadUpdate) and reading.flow and not reading.flow.signals
    # A survey answer on a closed ticket quotes our mail too: still a known thread.
    world.tickets[TICKET.ref] = replace(TICKET, status=TicketStatus.CLOSED)
    reading, _ = pipeline.assess(human, world)
    assert reading.flow and not reading.flow.signals


def test_our_ack_quoted_back_and_the_same_text_again_are_loop_signals() -> None:
    quoted = mail(
        subject="Nova mensagem",
        text_body="Recebido.\n\n> Recebemos sua solicitação e abrimos o chamado TG-00003.\n"
        "> o código [#TG-00003] no assunto.",
    )
    reading, _ = pipeline.assess(quoted, facts())
    assert reading.flow and "quotes our own mail back" in " ".join(reading.flow.signals)
    world = MemoryFacts()
    fresh, _ = pipeline.assess(mail(), world)
    assert fresh.flow is not None and fresh.flow.text_keys == (), "only within a thread"
    reply = mail(subject="Re: [#TG-00007] Sistema fora do ar")
    first, _ = pipeline.assess(reply, world)
    assert first.flow is not None and len(first.flow.text_keys) == 1 and not first.flow.signals
    world.counts[(Counter.TEXT_FROM, first.flow.text_keys[0])] = 1
    again, _ = pipeline.assess(replace(reply, message_id="<other@alfa.edu.br>"), world)
    assert again.flow and again.flow.signals == ("the same text again",)


def test_tickets_opened_over_the_sender_or_global_limit_are_held() -> None:
    held = pipeline.run(mail(), facts(ticket_opened__maria=20))
    assert isinstance(held, HoldLoop) and held.source is HoldSource.SENDER
    held = pipeline.run(mail(), facts(ticket_opened__all=1000))
    assert isinstance(held, HoldLoop) and held.source is HoldSource.EVERYONE


def test_a_released_mail_is_not_held_again() -> None:
    world = facts(mail_from__maria=99, ticket_opened__maria=99)
    world.holds[(HoldSource.SENDER, MARIA)] = Hold(HoldSource.SENDER, MARIA, "robot", UNTIL)
    world.received.add("mid:<new@alfa.edu.br>")
    _, decision = pipeline.assess(
        mail(), world, pipeline.RELEASED_STEPS, pipeline.RELEASED_GUARDS
    )
    assert isinstance(decision, CreateTicket)


def test_limits_are_written_n_per_duration_or_off() -> None:
    assert parse_rate("30 per 10m") == Rate(30, timedelta(minutes=10))
    assert parse_rate("5/1h") == Rate(5, timedelta(hours=1))
    assert parse_rate("off") is None
    for bad in ("30", "0 per 1h", "3 per 10 minutes", "per 1h"):
        with pytest.raises(ValueError):
            parse_rate(bad)
    limits = LimitsSection(sender_mails="off", cool_down="2h").limits()
    assert limits.sender_mails is None and limits.cool_down == timedelta(hours=2)
    assert LimitsSection().limits().sender_tickets == Rate(20, timedelta(hours=1))


def agent_answer(ticket: int, text: str = "Obrigada, registrado.") -> ParsedMessage:
    address = TOKENS.reply_address(
        "suporte@example.com", TicketRef(ticket), TokenPurpose.AGENT, holder=ANA
    )
    return mail(
        sender=ANA,
        to=(EmailAddress(address),),
        envelope=Envelope(rcpt_tos=(address,)),
        headers=AGENT_AUTH,
        text_body=text,
    )


def test_an_agent_repeating_an_answer_on_a_ticket_is_held_not_relayed() -> None:
    world = MemoryFacts()
    first, decision = pipeline.assess(agent_answer(7), world)
    assert isinstance(decision, AgentUpdate), decision
    assert first.flow is not None and len(first.flow.text_keys) == 2  # here, and anywhere
    for key in first.flow.text_keys:
        world.counts[(Counter.TEXT_FROM, key)] = 1
    held = pipeline.run(agent_answer(7), world)
    assert isinstance(held, HoldLoop) and (held.source, held.key) == (HoldSource.TICKET, "TG-00007")
    # The same words on another ticket: a signal, held only over loop_signals.
    world.tickets[TicketRef(8)] = replace(TICKET, ref=TicketRef(8))
    other, decision = pipeline.assess(agent_answer(8), world)
    assert isinstance(decision, AgentUpdate)
    assert other.flow is not None and other.flow.signals == ("the same answer on another ticket",)
    world.counts[(Counter.LOOP_SIGNAL, ANA)] = 3
    assert isinstance(pipeline.run(agent_answer(8), world), HoldLoop)
    # Commands alone are no words: "#assumir" twice is a person.
    only, _ = pipeline.assess(agent_answer(7, "#assumir"), MemoryFacts())
    assert only.flow is not None and only.flow.text_keys == ()
