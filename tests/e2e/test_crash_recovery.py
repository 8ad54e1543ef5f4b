"""Kill -9 in the middle of a burst: nothing accepted is lost, nothing is doubled.

A burst of 200 new-ticket mails is sent by several clients at once; once part
of them have been answered 250 the gateway is SIGKILLed. It is restarted,
the clients retry what was not answered (as an MTA would) and also redeliver
some that were, and then every accepted message must be exactly one ticket
and every ticket must get its acknowledgement.
"""

from __future__ import annotations

import smtplib
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.gateway_process import BULK_LIMITS, GatewayConfig, ServeProcess
from tests.support.mailfiles import simple_mail
from tests.support.sink import SmtpSink, SunkMail
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e

TOTAL = 200
KILL_AFTER = 70


def test_sigkill_mid_burst_loses_and_doubles_nothing(
    gateway_config: GatewayConfig, sink: SmtpSink
) -> None:
    mails = {
        n: simple_mail(
            "Maria Souza <maria@alfa.edu.br>",
            f"pedido {n:03d}",
            f"Pedido número {n}.",
            message_id=f"<burst-{n:03d}@alfa.edu.br>",
        )
        for n in range(TOTAL)
    }
    accepted: set[int] = set()
    lock = threading.Lock()
    gateway_config.limits = BULK_LIMITS  # one customer's burst of 200 is no loop here
    gateway_config.write()
    serve = ServeProcess(gateway_config).start()
    killed = threading.Event()

    def deliver(n: int) -> None:
        try:
            code, _ = serve.send(mails[n], "maria@alfa.edu.br", "suporte@example.com")
        except (smtplib.SMTPException, OSError):
            return  # the gateway died under us: not accepted, the MTA keeps it
        if code == 250:
            with lock:
                accepted.add(n)
                if len(accepted) >= KILL_AFTER and not killed.is_set():
                    killed.set()
                    serve.kill()

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(deliver, range(TOTAL)))
    assert killed.is_set(), "the burst finished before the kill"
    assert KILL_AFTER <= len(accepted) < TOTAL
    accepted_before_kill = set(accepted)

    serve = ServeProcess(gateway_config).start()
    try:
        retry = [n for n in range(TOTAL) if n not in accepted_before_kill]
        redeliver = sorted(accepted_before_kill)[:20]
        for n in retry + redeliver:
            code, answer = serve.send(mails[n], "maria@alfa.edu.br", "suporte@example.com")
            assert code == 250, answer
            if n in accepted_before_kill:
                assert b"duplicate" in answer, (n, answer)

        def acks() -> list[SunkMail]:
            return sink.to("maria@alfa.edu.br")

        def all_acked() -> bool:
            return len({m.header("X-Ticketgate-Ticket") for m in acks()}) >= TOTAL

        wait_for(all_acked, timeout=180, what=f"{TOTAL} acknowledgements")
    finally:
        serve.stop()

    tickets = gateway_config.cli_json("tickets", "list")
    subjects = Counter(t["subject"] for t in tickets)
    assert len(tickets) == TOTAL
    assert subjects == Counter(f"pedido {n:03d}" for n in range(TOTAL))

    per_message_id = Counter(m.header("Message-ID") for m in acks())
    per_ticket = Counter(m.header("X-Ticketgate-Ticket") for m in acks())
    assert set(per_ticket) == {t["ref"] for t in tickets}
    assert len(per_message_id) == TOTAL, "each ticket has exactly one acknowledgement"
    # A send cut between the relay's 250 and our commit is resent with the same
    # Message-ID; the worker sends one mail at a time, so at most one such resend.
    resent = sum(n - 1 for n in per_message_id.values())
    assert resent <= 1, per_message_id.most_common(3)
