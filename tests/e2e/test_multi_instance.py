"""Two `serve` instances on one PostgreSQL, one of them SIGKILLed mid-burst.

A burst of mail (new tickets from many senders at an open domain, replies
racing on one ticket, some mail delivered to both instances as a second MX
would) goes to two gateways sharing a database and a raw store, while SLA
timers of older tickets are due. Halfway, instance A is killed; the senders
retry what A did not accept on B, as an MTA with two MX hosts does. Then:
every accepted mail is in exactly once, every ticket has one acknowledgement,
every due timer fired once, and B took over the sweep and A's unsent mail.
It prints `multi-instance: N messages, 0 lost, 0 duplicated, K same-id
resends, timers fired once`.

On SQLite a second `serve` on the same data folder is refused instead: the
embedded store is for one process.
"""

from __future__ import annotations

import os
import smtplib
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from gateway.domain import TicketRef
from storage.db import Database
from storage.lifecycle import LifecycleStore
from tests.support.gateway_process import DIRECTORY, NO_LIMITS, GatewayConfig, ServeProcess
from tests.support.mailfiles import simple_mail
from tests.support.sink import SmtpSink
from tests.support.timetravel import gateway_at
from tests.support.waiting import free_port, wait_for

pytestmark = pytest.mark.e2e

ON_POSTGRES = os.environ.get("TICKETGATE_TEST_DB") == "postgresql"
TOTAL = int(os.environ.get("TICKETGATE_MULTI_TOTAL", "2000"))
OLD_TICKETS = 20
LEADER = "took the scheduler lease"  # storage/leases.py logs it when a lease is won
SP = ZoneInfo("America/Sao_Paulo")


def ref_of(text: str) -> TicketRef:
    ref = TicketRef.parse(text)
    assert ref is not None, text
    return ref


def second_instance(a: GatewayConfig) -> GatewayConfig:
    """Instance B: its own SMTP port and folder, the same database and raw store as A."""
    b = GatewayConfig(
        folder=a.folder.parent / "gw-b",
        storage_url=a.storage_url,
        relay_port=a.relay_port,
        limits=a.limits,
    )
    b.write()
    text = b.path.read_text().replace('data_dir = "data"', f'data_dir = "{a.folder / "data"}"')
    b.path.write_text(text)
    (b.folder / "directory.yaml").write_text(DIRECTORY)
    return b


@pytest.mark.skipif(ON_POSTGRES, reason="the SQLite half of this module")
def test_on_sqlite_a_second_serve_on_the_same_store_is_refused(
    gateway_config: GatewayConfig,
) -> None:
    text = gateway_config.path.read_text()
    other = gateway_config.folder / "other.toml"  # the same data folder, another SMTP port
    other.write_text(text.replace(f"port = {gateway_config.smtp_port}", f"port = {free_port()}"))
    first = ServeProcess(gateway_config).start()
    try:
        result = gateway_config.cli("--config", str(other), "serve", check=False)
    finally:
        first.stop()
    assert result.returncode != 0
    assert "use PostgreSQL to run several" in result.stderr.decode()


@pytest.mark.skipif(not ON_POSTGRES, reason="several instances share PostgreSQL, not SQLite")
@pytest.mark.timeout(1200)  # 2,000 mails through two gateways, then the 60 s stale-claim wait
def test_two_instances_share_one_store_and_survive_a_sigkill(
    gateway_config: GatewayConfig, sink: SmtpSink
) -> None:
    gateway_config.limits = NO_LIMITS  # 2,000 mails at once measure sharing, not loops
    gateway_config.write()
    a, b = gateway_config, second_instance(gateway_config)
    with gateway_at(a, datetime(2025, 6, 2, 9, tzinfo=SP)) as past:  # timers long due now
        for n in range(OLD_TICKETS):
            raw = simple_mail("Carla Dias <carla@beta.com.br>", f"antigo {n}", "Ainda aberto.")
            assert past.intake.receive(raw, None, "ingest").ticket is not None
    racing = simple_mail("Maria Souza <maria@alfa.edu.br>", "Corrida", "Abrindo.")
    with gateway_at(a, datetime.now(SP)) as now:
        ref = now.intake.receive(racing, None, "ingest").ticket
    assert ref is not None

    mails: dict[int, tuple[str, bytes]] = {}
    for n in range(TOTAL):
        if n % 20 == 0:  # a reply racing with others on one ticket
            sender = "maria@alfa.edu.br"
            raw = simple_mail(f"Maria Souza <{sender}>", f"Re: [#{ref}] Corrida", f"Resposta {n}.",
                              message_id=f"<multi-{n}@alfa.edu.br>")  # fmt: skip
        else:
            sender = f"cliente{n}@gama.org.br"
            raw = simple_mail(f"Cliente {n} <{sender}>", f"pedido {n}", f"Pedido {n}.",
                              message_id=f"<multi-{n}@gama.org.br>")  # fmt: skip
        mails[n] = (sender, raw)

    serve_a = ServeProcess(a).start()
    # A sweeps first (it holds the scheduler lease), so B taking it later is a real hand-over.
    wait_for(lambda: LEADER in serve_a.log(), 30, "instance A to take the scheduler lease")
    serve_b = ServeProcess(b).start()
    accepted: Counter[int] = Counter()
    accepted_by_a = 0  # kill A once it has taken a sixth of the burst
    lock = threading.Lock()
    killed = threading.Event()

    def offer(serve: ServeProcess, n: int) -> bool:
        sender, raw = mails[n]
        try:
            code, _ = serve.send(raw, sender, "suporte@example.com")
        except (smtplib.SMTPException, OSError):
            return False  # that MX is gone: not accepted there
        return code == 250

    def took(serve: ServeProcess, n: int) -> None:
        nonlocal accepted_by_a
        with lock:
            accepted[n] += 1
            if serve is serve_a:
                accepted_by_a += 1
                if accepted_by_a >= TOTAL // 6 and not killed.is_set():
                    killed.set()
                    serve_a.kill()

    def deliver(n: int) -> None:
        """As a sending MTA with two MX hosts: the first that accepts keeps it; one mail in
        ten is also handed to the other (a redelivery); a refused one goes to the other."""
        copies = 2 if n % 10 == 3 else 1
        for serve in (serve_a, serve_b) if n % 2 == 0 else (serve_b, serve_a):
            if serve is serve_a and killed.is_set():
                continue
            if offer(serve, n):
                took(serve, n)
                copies -= 1
                if copies == 0:
                    return
        if not accepted[n]:
            assert offer(serve_b, n), f"mail {n} refused by the surviving instance"
            took(serve_b, n)

    started = time.monotonic()
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(deliver, range(TOTAL)))
        burst_seconds = time.monotonic() - started
        assert killed.is_set(), "instance A was never killed"
        assert set(accepted) == set(range(TOTAL))

        new_tickets = [n for n in range(TOTAL) if n % 20 != 0]
        tickets = wait_for(
            lambda: (
                (t := b.cli_json("tickets", "list", "--limit", str(TOTAL * 2)))
                and len(t) >= len(new_tickets) + OLD_TICKETS + 1
                and t
            ),
            120,
            "every accepted new-ticket mail as a ticket",
        )
        subjects = Counter(t["subject"] for t in tickets)
        doubled = [s for s, count in subjects.items() if count > 1]
        assert not doubled, doubled[:5]
        lost = [n for n in new_tickets if f"pedido {n}" not in subjects]
        assert not lost, lost[:5]
        shown = b.cli_json("tickets", "show", str(ref))
        replies = [m for m in shown["messages"] if "Resposta" in (m["body"] or "")]
        assert len(replies) == TOTAL // 20, len(replies)

        def acks() -> Counter[str]:
            return Counter(
                m.header("Message-ID")
                for m in sink.mails
                if any(r.endswith("@gama.org.br") for r in m.rcpt_tos)
            )

        wait_for(lambda: len(acks()) >= len(new_tickets), 180, "an acknowledgement per ticket")
        per_ticket: dict[str, set[str]] = {}
        for m in sink.mails:
            if any(r.endswith("@gama.org.br") for r in m.rcpt_tos):
                tag = m.header("Subject").split("]")[0]
                per_ticket.setdefault(tag, set()).add(m.header("Message-ID"))
        same_id_resends = sum(count - 1 for count in acks().values())
        assert len(acks()) == len(new_tickets)  # distinct acks: no second ack for a ticket
        assert len(per_ticket) == len(new_tickets)  # every ticket acknowledged ...
        assert all(len(ids) == 1 for ids in per_ticket.values())  # ... by one mail
        # The dead leader's lease passed to the survivor, which sweeps from then on.
        wait_for(lambda: LEADER in serve_b.log(), 60, "instance B to take over the sweep")

        old = [t["ref"] for t in tickets if t["subject"].startswith("antigo")]

        store = Database.open(b.storage_url, run_migrations=False)

        def overdue() -> list[str]:
            now = datetime.now(UTC)
            with store.transaction() as session:
                return [
                    timer.key
                    for ticket in old
                    for timer in LifecycleStore(session).timers(ref_of(ticket))
                    if timer.state == "pending" and timer.due <= now
                ]

        wait_for(lambda: not overdue(), 120, "the surviving instance to sweep the due timers")
        store.close()
        notices: dict[tuple[str, str], set[str]] = {}
        for m in sink.mails:
            if "[SLA" in m.header("Subject"):
                key = (",".join(m.rcpt_tos), m.header("Subject"))
                notices.setdefault(key, set()).add(m.header("Message-ID"))
        assert notices, "no SLA notice was sent for the overdue tickets"
        twice = [key for key, ids in notices.items() if len(ids) > 1]
        assert not twice, twice[:3]
        print(
            f"multi-instance: {TOTAL} messages, 0 lost, 0 duplicated, "
            f"{same_id_resends} same-id resends, timers fired once "
            f"({len(notices)} SLA notices; burst {burst_seconds:.0f} s, "
            f"all settled after {time.monotonic() - started:.0f} s)"
        )
    finally:
        if serve_a.proc is not None and serve_a.proc.poll() is None:
            serve_a.stop()
        serve_b.stop()
