"""SIGTERM after a burst: `serve` exits within 10 s whatever is queued, and loses nothing.

A slow relay keeps dozens of acknowledgements queued when the signal comes; the
gateway must stop after the mail in hand instead of draining the queue, and a
restart must send the rest, each acknowledgement once.
"""

from __future__ import annotations

import signal
import smtplib
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.gateway_process import GatewayConfig, ServeProcess
from tests.support.mailfiles import simple_mail
from tests.support.sink import SmtpSink, SunkMail
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e

TOTAL = 60


def test_sigterm_after_a_burst_exits_within_10_s_and_loses_nothing(
    gateway_config: GatewayConfig, sink: SmtpSink
) -> None:
    sink.handler.delay = 0.3  # 60 acks take 18 s to relay: far more than the 10 s allowed
    mails = [
        simple_mail(
            "Maria Souza <maria@alfa.edu.br>",
            f"pedido {n:03d}",
            f"Pedido número {n}.",
            message_id=f"<term-{n:03d}@alfa.edu.br>",
        )
        for n in range(TOTAL)
    ]
    serve = ServeProcess(gateway_config).start()
    accepted: list[int] = []

    def deliver(n: int) -> None:
        try:
            code, _ = serve.send(mails[n], "maria@alfa.edu.br", "suporte@example.com")
        except (smtplib.SMTPException, OSError):
            return  # refused or cut by the shutdown: the client keeps it and retries
        if code == 250:
            accepted.append(n)

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(deliver, range(TOTAL // 2)))
        # The second half is still arriving when the signal comes.
        later = [pool.submit(deliver, n) for n in range(TOTAL // 2, TOTAL)]
        wait_for(lambda: len(sink.mails) >= 3, 30, "the first acknowledgements")
        assert serve.proc is not None
        started = time.monotonic()
        serve.proc.send_signal(signal.SIGTERM)
        serve.proc.wait(30)
        took = time.monotonic() - started
        for future in later:
            future.result()
    assert serve.proc.returncode == 0, serve.log()
    assert took < 10, f"serve took {took:.1f} s to stop"
    assert len(sink.mails) < 3 * len(accepted), "the queue was drained instead of left for later"
    assert "stopped" in serve.log()

    sink.handler.delay = 0

    def acks() -> list[SunkMail]:
        return sink.to("maria@alfa.edu.br")

    serve = ServeProcess(gateway_config).start()
    try:
        for n in sorted(set(range(TOTAL)) - set(accepted)):
            code, answer = serve.send(mails[n], "maria@alfa.edu.br", "suporte@example.com")
            assert code == 250, answer
        wait_for(
            lambda: len({m.header("X-Ticketgate-Ticket") for m in acks()}) >= TOTAL,
            60,
            f"{TOTAL} acknowledgements",
        )
    finally:
        serve.stop()
    tickets = gateway_config.cli_json("tickets", "list")
    assert Counter(t["subject"] for t in tickets) == Counter(
        f"pedido {n:03d}" for n in range(TOTAL)
    )
    per_message_id = Counter(m.header("Message-ID") for m in acks())
    print(
        f"shutdown: {len(accepted)} accepted before SIGTERM, stopped in {took:.1f} s, "
        f"{TOTAL} tickets, {sum(n - 1 for n in per_message_id.values())} same-id resends"
    )
    assert len(per_message_id) == TOTAL
    assert max(per_message_id.values()) <= 2  # one send cut at the deadline may be resent
