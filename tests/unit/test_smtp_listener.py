"""The SMTP listener over a real socket: DATA spooled byte-exact, the size limit held
while receiving, and a shutdown that finishes the message in hand but starts no other."""

from __future__ import annotations

import asyncio
import smtplib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pytest

from gateway.domain import Envelope
from inbound.smtp import SupportHandler, start_listener
from tests.support.waiting import wait_for

SUPPORT = "suporte@example.com"


@dataclass
class Listener:
    """`start_listener` on its own event loop thread, with a recording delivery."""

    spool: Path
    limit: int = 100_000
    received: list[bytes] = field(default_factory=list)
    hold: threading.Event = field(default_factory=threading.Event)
    port: int = 0

    def __post_init__(self) -> None:
        self.hold.set()
        self.loop = asyncio.new_event_loop()
        self.handler = SupportHandler([SUPPORT], self.deliver)
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        server = asyncio.run_coroutine_threadsafe(
            start_listener(self.handler, "127.0.0.1", 0, self.limit, self.spool), self.loop
        ).result(10)
        self.server = server
        self.port = server.sockets[0].getsockname()[1]

    async def deliver(self, spool: IO[bytes], envelope: Envelope) -> str:
        self.received.append(spool.read())
        await asyncio.to_thread(self.hold.wait, 10)
        return "created"

    def drain(self) -> bool:
        return asyncio.run_coroutine_threadsafe(self.handler.drain(5), self.loop).result(10)

    def close(self) -> None:
        """Close the server on its own loop: asyncio objects are not thread-safe, and closing
        it from the test's thread raced the loop's own connection teardown."""

        async def shut() -> None:
            self.server.close()

        asyncio.run_coroutine_threadsafe(shut(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[Listener]:
    running = Listener(tmp_path / "spool")
    try:
        yield running
    finally:
        running.close()


def client(listener: Listener) -> smtplib.SMTP:
    smtp = smtplib.SMTP("127.0.0.1", listener.port, timeout=10)
    smtp.ehlo("client.test")
    return smtp


def test_data_is_spooled_byte_exact_with_dot_stuffing_undone(listener: Listener) -> None:
    raw = b"From: a@b.example\r\nSubject: x\r\n\r\n.ponto\r\n..dois\r\nfim\r\n"
    with client(listener) as smtp:
        smtp.sendmail("a@b.example", [SUPPORT], raw)
    assert listener.received == [raw]


def test_over_the_limit_is_552_and_never_delivered(listener: Listener) -> None:
    line = b"x" * 998 + b"\r\n"
    with client(listener) as smtp:
        smtp.mail("a@b.example")
        smtp.rcpt(SUPPORT)
        code, _ = smtp.data(b"Subject: big\r\n\r\n" + line * 150)
        assert code == 552
        smtp.mail("a@b.example")
        smtp.rcpt(SUPPORT)
        assert smtp.data(b"Subject: small\r\n\r\nok\r\n")[0] == 250
    assert listener.received == [b"Subject: small\r\n\r\nok\r\n"]


def test_a_shutdown_answers_the_message_in_hand_and_refuses_new_ones(
    listener: Listener,
) -> None:
    listener.hold.clear()  # the first message's commit is slow
    answers: list[int] = []
    first = client(listener)
    first.mail("a@b.example")
    first.rcpt(SUPPORT)
    sending = threading.Thread(
        target=lambda: answers.append(first.data(b"Subject: 1\r\n\r\n1\r\n")[0])
    )
    sending.start()
    wait_for(lambda: listener.received, 10, "the first message spooled")
    idle = client(listener)  # a session that is open but has no message yet
    draining = threading.Thread(target=lambda: answers.append(int(listener.drain())))
    draining.start()
    wait_for(lambda: listener.handler.closing, 10, "the listener to start closing")
    assert idle.mail("a@b.example")[0] == 421  # RFC 5321 section 3.8
    listener.hold.set()
    sending.join(10)
    draining.join(10)
    assert sorted(answers) == [1, 250]  # the message in hand was committed and answered
    first.close()
    idle.close()
