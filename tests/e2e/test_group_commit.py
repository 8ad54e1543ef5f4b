"""Group commit (issue 13, item 1): mail that arrives together commits in one
transaction, each message still gets its own outcome, and a message the store
refuses is retried alone without costing the others their mail.

The refusal is the database's own (tests/support/store_faults.py), on SQLite
or PostgreSQL, whichever store the suite runs on.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import os
import smtplib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError

from gateway.config.settings import load_settings
from gateway.domain import Envelope, Outcome
from gateway.intake.use_case import Arrival, Receipt
from gateway.runtime.app import Gateway, build
from gateway.runtime.group_commit import GroupCommit
from tests.support.gateway_process import (
    BULK_LIMITS,
    NO_LIMITS,
    SECRET,
    GatewayConfig,
    ServeProcess,
)
from tests.support.mailfiles import simple_mail
from tests.support.sink import SmtpSink
from tests.support.store_faults import accept_again, refuse_receipt_of, store_locked
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e

MARIA = "Maria Souza <maria@alfa.edu.br>"
ENVELOPE = Envelope(mail_from="maria@alfa.edu.br", rcpt_tos=("suporte@example.com",))


@pytest.fixture
def gateway(gateway_config: GatewayConfig, monkeypatch: pytest.MonkeyPatch) -> Iterator[Gateway]:
    monkeypatch.setenv("TICKETGATE_SECRET", SECRET)
    gateway_config.limits = BULK_LIMITS  # a burst from one customer, not a flood
    built = build(load_settings(gateway_config.write()))
    try:
        yield built
    finally:
        built.close()


def mail(n: int) -> bytes:
    return simple_mail(MARIA, f"Pedido {n}", f"Texto do pedido {n}.", message_id=f"<p{n}@alfa>")


def commits_of(gateway: Gateway) -> list[int]:
    """A counter of the transactions the store commits from now on."""
    count = [0]
    event.listen(gateway.db.engine, "commit", lambda _conn: count.__setitem__(0, count[0] + 1))
    return count


def arrival(gateway: Gateway, raw: bytes) -> Arrival:
    prepared = gateway.intake.prepare(io.BytesIO(raw), ENVELOPE, "smtp")
    assert isinstance(prepared, Arrival), prepared
    return prepared


def test_mail_that_arrives_together_is_committed_in_one_transaction(gateway: Gateway) -> None:
    group = GroupCommit(gateway.intake)

    async def burst() -> list[Receipt]:
        answers = [
            asyncio.ensure_future(group.receive(io.BytesIO(mail(n)), ENVELOPE, "smtp"))
            for n in range(10)
        ]
        # Every message is stored, parsed and waiting before the committer starts.
        while group.pending < 10:
            await asyncio.sleep(0.01)
        commits = commits_of(gateway)
        committer = asyncio.create_task(group.run())
        receipts = await asyncio.gather(*answers)
        committer.cancel()
        assert commits[0] == 1, f"{commits[0]} transactions for one batch"
        return receipts

    receipts = asyncio.run(asyncio.wait_for(burst(), 60))
    assert [r.outcome for r in receipts] == [Outcome.CREATED] * 10
    assert len({r.ticket for r in receipts}) == 10
    assert [r.message_id for r in receipts] == [f"<p{n}@alfa>" for n in range(10)]
    with gateway.db.transaction() as session:
        kinds = session.execute(text("SELECT kind, count(*) FROM outbox GROUP BY kind")).all()
    # Each ticket's acknowledgement and its two agents' notices, committed with it.
    assert dict(kinds) == {"acknowledgement": 10, "agent_notification": 20}, kinds


def test_a_message_the_store_refuses_is_retried_alone_and_the_others_commit(
    gateway: Gateway,
) -> None:
    refuse_receipt_of(gateway.db.engine, "<p2@alfa>")
    batch = [arrival(gateway, mail(n)) for n in range(5)]
    batch.append(arrival(gateway, mail(0)))  # a redelivery in the same batch

    results = gateway.intake.commit_batch(batch)

    refused = results[2]
    assert isinstance(refused, Exception)
    settled = [r for r in results if isinstance(r, Receipt)]
    assert [r.outcome for r in settled] == [Outcome.CREATED] * 4 + [Outcome.DUPLICATE]
    assert settled[-1].ticket == settled[0].ticket  # the redelivery names the first's ticket
    with gateway.db.transaction() as session:
        assert session.execute(text("SELECT count(*) FROM tickets")).scalar_one() == 4

    accept_again(gateway.db.engine)  # the sender retries the refused one: it becomes its ticket
    (again,) = gateway.intake.commit_batch([arrival(gateway, mail(2))])
    assert isinstance(again, Receipt) and again.outcome is Outcome.CREATED
    with gateway.db.transaction() as session:
        tickets = session.execute(text("SELECT count(*) FROM tickets")).scalar_one()
    assert tickets == 5


def test_a_store_that_is_locked_fails_the_batch_at_once_not_once_per_message(
    gateway: Gateway,
) -> None:
    batch = [arrival(gateway, mail(n)) for n in range(3)]
    with store_locked(gateway.db.engine):
        results = gateway.intake.commit_batch(batch)
    # One error for all three (each answered 451): none was tried again alone.
    assert all(isinstance(r, OperationalError) for r in results), results
    assert results[0] is results[1] is results[2]
    with gateway.db.transaction() as session:
        assert session.execute(text("SELECT count(*) FROM tickets")).scalar_one() == 0
    (again,) = gateway.intake.commit_batch([batch[0]])  # the store is back
    assert isinstance(again, Receipt) and again.outcome is Outcome.CREATED


def test_concurrent_smtp_clients_each_get_their_ticket_and_ack(
    gateway_config: GatewayConfig, sink: SmtpSink
) -> None:
    gateway_config.limits = NO_LIMITS  # eighty new tickets at once: load, not a flood
    gateway_config.write()
    serve = ServeProcess(gateway_config).start()
    try:

        def client(c: int) -> None:
            with smtplib.SMTP("127.0.0.1", gateway_config.smtp_port, timeout=60) as smtp:
                for n in range(c * 20, c * 20 + 20):  # raises unless every mail gets its 250
                    smtp.sendmail("maria@alfa.edu.br", ["suporte@example.com"], mail(n))

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(client, range(4)))
        tickets = gateway_config.cli_json("tickets", "list")
        assert sorted(t["subject"] for t in tickets) == sorted(f"Pedido {n}" for n in range(80))
        acks = sink.wait_for_count(80, 60, address="maria@alfa.edu.br")
        assert sorted(m.header("Subject").rsplit(": ", 1)[-1] for m in acks) == sorted(
            f"Pedido {n}" for n in range(80)
        )
        wait_for(lambda: serve.send(mail(3), "maria@alfa.edu.br", "suporte@example.com")[0] == 250)
        assert len(gateway_config.cli_json("tickets", "list")) == 80  # a redelivery: no 81st
    finally:
        serve.stop()


def big_reply_to(message_id: str) -> bytes:
    """Maria's reply with a 1.5 MB spreadsheet: past the size judged on its header first."""
    data = base64.encodebytes(os.urandom(1_100_000)).replace(b"\n", b"\r\n")
    return (
        (
            f"From: {MARIA}\r\nTo: suporte@example.com\r\nSubject: Re: Pedido 1\r\n"
            f"Message-ID: <big@alfa>\r\nIn-Reply-To: {message_id}\r\nReferences: {message_id}\r\n"
            'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b1"\r\n\r\n'
            "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSegue a planilha.\r\n"
            '--b1\r\nContent-Type: application/vnd.ms-excel; name="dados.xls"\r\n'
            'Content-Disposition: attachment; filename="dados.xls"\r\n'
            "Content-Transfer-Encoding: base64\r\n\r\n"
        ).encode()
        + data
        + b"--b1--\r\n"
    )


def test_a_big_reply_in_a_group_finds_the_ticket_its_predecessor_opened(
    gateway: Gateway,
) -> None:
    first, reply = gateway.intake.receive_group(
        [mail(1), big_reply_to("<p1@alfa>")], ENVELOPE, "imap"
    )
    assert isinstance(first, Receipt) and first.outcome is Outcome.CREATED
    assert isinstance(reply, Receipt) and reply.outcome is Outcome.THREADED
    assert reply.ticket == first.ticket


def test_a_stopped_committer_answers_at_once_instead_of_leaving_mail_waiting(
    gateway: Gateway,
) -> None:
    group = GroupCommit(gateway.intake)

    async def after_stop() -> None:
        committer = asyncio.create_task(group.run())
        await asyncio.sleep(0)  # it starts and waits for mail
        committer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await committer
        with pytest.raises(RuntimeError, match="committer stopped"):
            await group.receive(io.BytesIO(mail(7)), ENVELOPE, "smtp")

    asyncio.run(asyncio.wait_for(after_stop(), 30))
