"""What one inbound mail writes (issue 13, item 2): the rows its decision needs and no
more, in few statements, on SQLite or PostgreSQL, whichever store the suite runs on."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import TypeVar

import pytest
from sqlalchemy import event, text

from gateway.config.settings import load_settings
from gateway.domain import Direction, Envelope, Outcome
from gateway.domain.flood import HoldSource
from gateway.runtime.app import Gateway, build
from storage.flow import FlowLedger
from storage.repository import TicketRepository
from tests.support.gateway_process import BULK_LIMITS, SECRET, GatewayConfig
from tests.support.mailfiles import simple_mail

pytestmark = pytest.mark.e2e

T = TypeVar("T")
MARIA = "Maria Souza <maria@alfa.edu.br>"
ENVELOPE = Envelope(mail_from="maria@alfa.edu.br", rcpt_tos=("suporte@example.com",))


def gateway_with(
    config: GatewayConfig, limits: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Gateway]:
    monkeypatch.setenv("TICKETGATE_SECRET", SECRET)
    config.limits = limits
    built = build(load_settings(config.write()))
    try:
        yield built
    finally:
        built.close()


@pytest.fixture
def gateway(gateway_config: GatewayConfig, monkeypatch: pytest.MonkeyPatch) -> Iterator[Gateway]:
    yield from gateway_with(gateway_config, "", monkeypatch)  # every limit at its default


@pytest.fixture
def bulk_gateway(
    gateway_config: GatewayConfig, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Gateway]:
    yield from gateway_with(gateway_config, BULK_LIMITS, monkeypatch)  # per-sender limits off


def marks(gateway: Gateway) -> Counter[tuple[str, str]]:
    with gateway.db.transaction() as session:
        rows = session.execute(text('SELECT counter, "key" FROM flow_marks')).all()
    return Counter((counter, key) for counter, key in rows)


def new_ticket(gateway: Gateway) -> str:
    """Maria opens a ticket; its ref as marks and mail name it (TG-00001)."""
    raw = simple_mail(MARIA, "Boletos atrasados", "O sistema caiu.", message_id="<n1@alfa>")
    receipt = gateway.intake.receive(raw, ENVELOPE, "smtp")
    assert receipt.outcome is Outcome.CREATED and receipt.ticket
    return str(receipt.ticket)


def test_a_new_ticket_marks_every_counter_its_limits_read(gateway: Gateway) -> None:
    ref = new_ticket(gateway)
    counted = marks(gateway)
    assert counted[("mail_from", "maria@alfa.edu.br")] == 1
    assert counted[("ticket_opened", "maria@alfa.edu.br")] == 1
    assert counted[("ticket_opened", "*")] == 1
    assert counted[("auto_mail_to", "maria@alfa.edu.br")] == 1  # the acknowledgement
    automatic = counted[("auto_mail", "*")]
    assert automatic >= 2, "the acknowledgement and the agents' notices"
    assert counted[("auto_mail_on_ticket", ref)] == automatic


def test_no_mark_is_written_for_a_limit_that_is_off(bulk_gateway: Gateway) -> None:
    ref = new_ticket(bulk_gateway)
    counted = marks(bulk_gateway)
    # BULK_LIMITS: sender_mails, ticket_mails, loop_signals, sender_tickets and
    # recipient_mails off; the global ones and ticket_auto_mails on.
    assert {counter for counter, _ in counted} == {
        "ticket_opened",
        "auto_mail",
        "auto_mail_on_ticket",
    }
    assert counted[("ticket_opened", "*")] == 1
    assert counted[("auto_mail_on_ticket", ref)] == counted[("auto_mail", "*")] >= 2


def captured(gateway: Gateway, work: Callable[[], T]) -> tuple[T, list[str]]:
    """What `work` returns, and the SQL statements it ran."""
    seen: list[str] = []

    def log(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        seen.append(" ".join(statement.split()))

    event.listen(gateway.db.engine, "before_cursor_execute", log)
    try:
        return work(), seen
    finally:
        event.remove(gateway.db.engine, "before_cursor_execute", log)


def statements_of(gateway: Gateway, raw: bytes) -> list[str]:
    """The SQL one mail runs."""
    return captured(gateway, lambda: gateway.intake.receive(raw, ENVELOPE, "smtp"))[1]


def test_a_new_ticket_is_inserted_with_its_clock_and_timers_not_updated_or_read_back(
    bulk_gateway: Gateway,
) -> None:
    raw = simple_mail(MARIA, "Boletos atrasados", "O sistema caiu.", message_id="<n1@alfa>")
    run = statements_of(bulk_gateway, raw)
    assert not [s for s in run if s.startswith("UPDATE tickets")], run
    assert not [s for s in run if s.startswith("SELECT timers")], "a new ticket has none"
    written_blind = ("INSERT INTO events", "INSERT INTO flow_marks")  # no id read back
    assert not [s for s in run if s.startswith(written_blind) and "RETURNING" in s]
    with bulk_gateway.db.transaction() as session:
        opened = session.execute(text("SELECT created_at, status_since, status FROM tickets")).one()
        timers = session.execute(
            text("SELECT count(*) FROM timers WHERE state = 'pending'")
        ).scalar_one()
    assert opened.status == "new" and opened.status_since == opened.created_at
    assert timers >= 1, "the SLA timers of a new ticket"


def test_a_thread_is_found_in_one_query_by_its_nearest_known_message_id(
    bulk_gateway: Gateway,
) -> None:
    first = new_ticket(bulk_gateway)
    raw = simple_mail(MARIA, "Outro assunto", "Outro problema.", message_id="<n2@alfa>")
    second = bulk_gateway.intake.receive(raw, ENVELOPE, "smtp").ticket
    with bulk_gateway.db.transaction() as session:
        notice = (
            session.execute(  # an agent's notice is in the outbox alone
                text("SELECT message_id FROM outbox WHERE kind = 'agent_notification' ORDER BY id")
            )
            .scalars()
            .first()
        )
        tickets = TicketRepository(session)
        found, queries = captured(
            bulk_gateway,
            lambda: [
                tickets.ref_for_message_ids(["<nada@x>", "<n2@alfa>", "<n1@alfa>"]),
                tickets.ref_for_message_ids(["<n1@alfa>", "<n2@alfa>"]),
                tickets.ref_for_message_ids([str(notice)]),
                tickets.ref_for_message_ids(["<nada@x>"]),
            ],
        )
    assert [str(ref) if ref else None for ref in found] == [str(second), first, first, None]
    assert len(queries) == 4, queries


def test_the_cool_downs_of_a_sender_and_its_ticket_are_asked_in_one_query(
    bulk_gateway: Gateway,
) -> None:
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    sender, ticket = (HoldSource.SENDER, "maria@alfa.edu.br"), (HoldSource.TICKET, "TG-00001")
    with bulk_gateway.db.transaction() as session:
        ledger = FlowLedger(session)
        ledger.start_hold(*sender, "robot", now - timedelta(hours=2), timedelta(hours=1))
        ledger.start_hold(*ticket, "loop", now - timedelta(minutes=5), timedelta(hours=1))
        found, queries = captured(bulk_gateway, lambda: ledger.active_hold([sender, ticket], now))
        assert found is not None and found.source is HoldSource.TICKET, "the sender's is over"
        assert len(queries) == 1, queries
        ledger.start_hold(*sender, "robot again", now, timedelta(hours=1))
        first = ledger.active_hold([sender, ticket], now)
        assert (
            first is not None
            and first.source is HoldSource.SENDER
            and first.reason == "robot again"
        )
        assert ledger.active_hold([sender, ticket], now + timedelta(hours=2)) is None


def test_a_thread_keeps_the_order_its_messages_came_in_and_each_its_attachments(
    bulk_gateway: Gateway,
) -> None:
    first = EmailMessage()
    first["From"], first["To"], first["Subject"] = MARIA, "suporte@example.com", "Planilha"
    first["Message-ID"] = "<a1@alfa>"
    first.set_content("Segue a planilha.")
    first.add_attachment(b"a;b\n1;2\n", maintype="text", subtype="csv", filename="planilha.csv")
    opened = bulk_gateway.intake.receive(first.as_bytes(), ENVELOPE, "smtp")
    reply = simple_mail(
        MARIA,
        "Re: Planilha",
        "Mais uma.",
        message_id="<a2@alfa>",
        extra="In-Reply-To: <a1@alfa>\r\n",
    )
    threaded = bulk_gateway.intake.receive(reply, ENVELOPE, "smtp")
    assert opened.ticket and threaded.outcome is Outcome.THREADED
    with bulk_gateway.db.transaction() as session:
        thread = TicketRepository(session).messages(opened.ticket)
    assert [m.direction for m in thread] == [
        Direction.INBOUND,
        Direction.OUTBOUND,
        Direction.INBOUND,
    ]
    assert [thread[0].message_id, thread[-1].message_id] == ["<a1@alfa>", "<a2@alfa>"]
    assert [a.filename for a in thread[0].attachments] == ["planilha.csv"]
    assert thread[0].attachments[0].size == len(b"a;b\n1;2\n")
    assert not thread[1].attachments and not thread[2].attachments
