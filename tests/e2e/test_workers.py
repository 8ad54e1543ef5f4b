"""`serve` with `[smtp] workers = 2`: two worker processes under one supervisor share the
SMTP port and the store.

A burst of 200 mails over four concurrent clients reaches both workers; halfway,
the worker sending the outbox is SIGKILLed. The supervisor starts it again, the
outbox lease passes to a live worker, and a client whose connection died retries
as an MTA does. Then: every mail is one ticket, every ticket one acknowledgement,
the outbox and the sweep ran in one worker at a time, and SIGTERM stops it all,
exit 0, within 10 s. A SIGKILLed supervisor takes its workers down with it, and a
worker that cannot start ends `serve` with its error instead of a restart loop.
"""

from __future__ import annotations

import os
import re
import signal
import smtplib
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.support.gateway_process import NO_LIMITS, GatewayConfig, ServeProcess
from tests.support.mailfiles import simple_mail
from tests.support.sink import SmtpSink, SunkMail
from tests.support.waiting import free_port, wait_for

pytestmark = pytest.mark.e2e

TOTAL = 200
READY = "ticketgate is receiving mail for"  # the CLI's line once every worker listens
RECEIVED = re.compile(r"\[worker (\d+)\] gateway\.intake\.use_case: smtp <")


def leases(log: str, name: str) -> list[int]:
    """The workers, in order, that took lease `name` (storage/leases.py logs it)."""
    return [int(n) for n in re.findall(rf"\[worker (\d+)\] \S+: took the {name} lease", log)]


def workers_of(serve: ServeProcess) -> dict[int, int]:
    """The supervisor's live workers: number -> pid, read from /proc."""
    assert serve.proc is not None
    found: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        state, ppid = stat.rpartition(")")[2].split()[:2]
        if int(ppid) == serve.proc.pid and state != "Z" and b"--worker" in args:
            found[int(args[args.index(b"--worker") + 1])] = int(entry.name)
    return found


def gone(pid: int) -> bool:
    """True once `pid` has exited (a zombie nobody reaped counts as exited)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return True
    return state == "Z"


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status)
    except OSError:
        return 0


def refuses(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return False
    except OSError:
        return True


def start_workers(config: GatewayConfig, extra: str = "") -> ServeProcess:
    config.workers = 2
    config.write()
    with config.path.open("a", encoding="utf-8") as handle:
        handle.write(extra)
    serve = ServeProcess(config).start()
    wait_for(lambda: READY in serve.log(), 60, "both workers to listen")
    assert sorted(workers_of(serve)) == [1, 2]
    return serve


def send_until_accepted(port: int, sender: str, raw: bytes) -> None:
    """As a sending MTA: a dropped connection or a 4xx is tried again until a 250."""
    deadline = time.monotonic() + 90
    while True:
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
                client.sendmail(sender, ["suporte@example.com"], raw)
            return
        except (smtplib.SMTPException, OSError):
            if time.monotonic() > deadline:
                raise


def test_two_workers_share_the_port_and_lose_nothing_when_one_is_killed(
    gateway_config: GatewayConfig, sink: SmtpSink
) -> None:
    gateway_config.limits = NO_LIMITS  # 200 customers at once measure sharing, not floods
    serve = start_workers(gateway_config)
    before = workers_of(serve)
    wait_for(lambda: leases(serve.log(), "outbox"), 30, "a worker to take the outbox lease")
    [sender_worker] = leases(serve.log(), "outbox")  # one worker sends, the other does not
    wait_for(lambda: leases(serve.log(), "scheduler"), 30, "a worker to take the sweep")
    assert len(leases(serve.log(), "scheduler")) == 1

    accepted = 0
    lock = threading.Lock()
    killed = threading.Event()

    def deliver(n: int) -> None:
        nonlocal accepted
        sender = f"cliente{n}@gama.org.br"
        raw = simple_mail(f"Cliente {n} <{sender}>", f"pedido {n}", f"Pedido {n}.",
                          message_id=f"<workers-{n}@gama.org.br>")  # fmt: skip
        send_until_accepted(gateway_config.smtp_port, sender, raw)
        with lock:
            accepted += 1
            if accepted == TOTAL // 3:  # mid-burst: the sending worker dies
                os.kill(before[sender_worker], signal.SIGKILL)
                killed.set()

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(deliver, range(TOTAL)))
    assert killed.is_set()

    restarted = f"worker {sender_worker} (pid {before[sender_worker]}) was killed by SIGKILL"
    wait_for(lambda: restarted in serve.log(), 30, "the supervisor to notice the dead worker")
    wait_for(lambda: len(workers_of(serve)) == 2, 60, "the dead worker to be started again")
    assert workers_of(serve)[sender_worker] != before[sender_worker]

    tickets = wait_for(
        lambda: (
            (t := gateway_config.cli_json("tickets", "list", "--limit", "1000"))
            and len(t) >= TOTAL
            and t
        ),
        60,
        "a ticket per mail",
    )
    subjects = Counter(t["subject"] for t in tickets)
    assert sorted(subjects) == sorted(f"pedido {n}" for n in range(TOTAL))
    assert set(subjects.values()) == {1}  # no mail made two tickets

    def acks() -> Counter[str]:
        return Counter(
            m.header("Message-ID") for m in sink.mails if m.rcpt_tos[0].endswith("@gama.org.br")
        )

    # A dead sender's claim is taken again (at once on SQLite, after 60 s on PostgreSQL).
    wait_for(lambda: len(acks()) >= TOTAL, 120, "an acknowledgement per ticket")
    per_customer = Counter(m.rcpt_tos[0] for m in sink.mails if "@gama.org.br" in m.rcpt_tos[0])
    assert len(per_customer) == TOTAL
    # Each ticket is acknowledged by one mail; the send cut by the SIGKILL and the one
    # before it, whose "sent" was being recorded, may have reached the relay twice with
    # the same Message-ID (the hand-off is at-least-once).
    assert len(acks()) == TOTAL
    assert sum(acks().values()) - TOTAL <= 2, acks().most_common(3)

    log = serve.log()
    by_worker = Counter(int(n) for n in RECEIVED.findall(log))
    assert set(by_worker) == {1, 2}, by_worker  # the kernel spread the clients over both
    # One sender at a time: the killed one, then the worker that took over its lease.
    assert len(leases(log, "outbox")) == 2, leases(log, "outbox")

    alive = list(workers_of(serve).values())
    started = time.monotonic()
    assert serve.stop() == 0
    assert time.monotonic() - started <= 10
    assert all(gone(pid) for pid in alive)
    print(f"workers: {TOTAL} mails over 2 workers {dict(by_worker)}, a worker SIGKILLed, "
          f"0 lost, 0 doubled, stopped in {time.monotonic() - started:.1f} s")  # fmt: skip


def test_a_sigkilled_supervisor_takes_its_workers_down(gateway_config: GatewayConfig) -> None:
    http_port = free_port()
    serve = start_workers(gateway_config, f'\n[http]\nhost = "127.0.0.1"\nport = {http_port}\n')
    pids = list(workers_of(serve).values())
    # The customer pages live in worker 1 alone (one process's rate limits and /metrics).
    wait_for(lambda: status(f"http://127.0.0.1:{http_port}/healthz") == 200, 30, "/healthz")
    assert re.findall(r"\[worker (\d)\] ticketgate: HTTP \(customer pages", serve.log()) == ["1"]
    serve.kill()
    wait_for(lambda: all(gone(pid) for pid in pids), 15, "the orphaned workers to exit")
    assert refuses(gateway_config.smtp_port)


def test_port_0_is_picked_once_and_shared(gateway_config: GatewayConfig) -> None:
    gateway_config.smtp_port = 0
    gateway_config.workers = 2
    gateway_config.write()
    serve = ServeProcess(gateway_config)  # started by hand: its port is not known yet
    serve.proc = subprocess.Popen(
        [sys.executable, "-m", "gateway", "--config", str(gateway_config.path), "serve"],
        stdout=serve.log_path.open("ab"),
        stderr=subprocess.STDOUT,
        env=gateway_config.env(),
    )
    try:
        found = wait_for(lambda: re.search(rf"{READY} \S+ on 127\.0\.0\.1:(\d+)", serve.log()),
                         60, "both workers to listen")  # fmt: skip
        port = int(found.group(1))
        assert port != 0
        listeners = re.findall(r"\[worker (\d)\] ticketgate: SMTP listener on 127\.0\.0\.1:(\d+)",
                               serve.log())  # fmt: skip
        assert sorted(listeners) == [("1", str(port)), ("2", str(port))]
        raw = simple_mail("Maria Souza <maria@alfa.edu.br>", "porta zero", "Olá.")
        send_until_accepted(port, "maria@alfa.edu.br", raw)
    finally:
        assert serve.stop() == 0


def test_a_worker_that_cannot_start_ends_serve_with_its_error(
    gateway_config: GatewayConfig,
) -> None:
    gateway_config.workers = 2
    gateway_config.write()
    (gateway_config.folder / "directory.yaml").write_text("queues: []\n", encoding="utf-8")
    result = gateway_config.cli("serve", check=False)
    assert result.returncode == 2  # as a lone `serve` refusing a file
    err = result.stderr.decode()
    assert "directory.yaml:1:" in err
    assert "could not start" in err and "starting it again" not in err


def test_sigterm_with_mail_queued_stops_every_worker_within_10_s(
    gateway_config: GatewayConfig, sink: SmtpSink
) -> None:
    sink.handler.delay = 0.3  # 20 acks and their agent notices: more than a drain may take
    gateway_config.limits = NO_LIMITS
    serve = start_workers(gateway_config)
    customers = [f"cliente{n}@gama.org.br" for n in range(20)]

    def deliver(customer: str) -> None:
        raw = simple_mail(customer, f"fila {customer}", "Pedido.", message_id=f"<q-{customer}>")
        send_until_accepted(gateway_config.smtp_port, customer, raw)

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(deliver, customers))

    def acks() -> list[SunkMail]:
        return [m for m in sink.mails if m.rcpt_tos[0] in customers]

    wait_for(lambda: len(acks()) >= 3, 30, "the first acknowledgements")
    alive = list(workers_of(serve).values())
    started = time.monotonic()
    assert serve.stop() == 0
    assert time.monotonic() - started <= 10
    assert all(gone(pid) for pid in alive)
    assert len(acks()) < len(customers)  # it stopped with mail still queued ...
    serve = start_workers(gateway_config)  # ... which the next start sends, each once
    try:
        wait_for(lambda: len({m.header("Message-ID") for m in acks()}) >= len(customers), 60,
                 "the queued acknowledgements after the restart")  # fmt: skip
        assert sorted({m.rcpt_tos[0] for m in acks()}) == sorted(customers)
        assert len({m.header("Message-ID") for m in acks()}) == len(customers)
    finally:
        assert serve.stop() == 0
