"""Draining an IMAP backlog: time and peak memory against ingesting the same mail from a Maildir.

After an outage thousands of messages wait in the support mailbox. This
starts a real Dovecot (Debian's `dovecot-imapd`, as the tests do), appends N
messages (default 5,000) to INBOX, and drains them with the real
`MailboxPoller` into a fresh gateway (each message its own `Intake.receive`
and commit, then UID MOVE to Processed). The baseline is the same N messages
ingested from a Maildir, as `ticketgate ingest` does, into another fresh
gateway. Both run in this process under tracemalloc, so peak Python memory is
comparable; the ratios are what to compare between commits.

    .venv/bin/python -m bench.bench_imap_backlog [N] [--batch-size B] [--db URL]
"""

from __future__ import annotations

import argparse
import logging
import mailbox
import os
import resource
import sys
import tempfile
import threading
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

from bench.servers import write_config
from gateway.cli.sources import open_sources
from gateway.config.settings import load_settings
from gateway.runtime.app import Gateway, build
from gateway.runtime.imap_runner import intake_delivery
from inbound.imap import MailboxPoller
from tests.support.dovecot import Dovecot, poller_settings

DIRECTORY = """\
queues: [{id: n1, name: N1}]
organizations:
  - id: alfa
    name: Alfa
    contacts: [{email: maria@alfa.edu.br, name: Maria, can_open_tickets: true}]
"""




def message(n: int, tag: str) -> bytes:
    body = "Bom dia,\r\n\r\nO relatório de notas não abre desde ontem.\r\n" * 5
    return (
        f"From: Maria Souza <maria@alfa.edu.br>\r\nTo: suporte@example.com\r\n"
        f"Subject: Pedido {n}\r\nMessage-ID: <bench-{tag}-{n}@alfa.edu.br>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body
    ).encode()


def fresh_gateway(root: Path, db: str | None) -> Gateway:
    return build(load_settings(write_config(root, storage_url=db or "", directory=DIRECTORY)))


def measured(work: Callable[[], None]) -> tuple[float, int]:
    """(seconds, peak traced bytes) of one run of `work`."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    start = time.perf_counter()
    work()
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return elapsed, peak


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", type=int, nargs="?", default=5000)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--db", default=None, help="database URL (default: SQLite in a temp dir)")
    args = parser.parse_args()
    n = args.n
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("inbound.imap").setLevel(logging.INFO)  # the progress lines
    os.environ.setdefault("TICKETGATE_SECRET", "bench-secret-bench-secret-bench")
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)

        # Baseline: the same mail from a Maildir, through the code `ingest` uses.
        maildir = mailbox.Maildir(root / "Maildir", factory=None, create=True)
        for i in range(n):
            maildir.add(message(i, "maildir"))
        # With --db both runs share that database; their Message-IDs differ.
        baseline_gw = fresh_gateway(root / "baseline", args.db)
        sources = open_sources([root / "Maildir"])
        base_outcomes: Counter[str] = Counter()

        def ingest() -> None:
            for source in sources:
                for raw in source.messages():
                    receipt = baseline_gw.intake.receive(raw, None, "ingest")
                    base_outcomes[receipt.outcome.value] += 1

        base_time, base_peak = measured(ingest)
        base_tickets = base_outcomes["created"]
        baseline_gw.close()

        # The IMAP drain.
        server = Dovecot().start()
        try:
            server.create_folders("Processed", "Errors")
            start = time.perf_counter()
            with server.client() as client:
                for i in range(n):
                    client.append("INBOX", message(i, "imap"))
            print(f"appended {n} messages to INBOX in {time.perf_counter() - start:.1f}s")
            imap_gw = fresh_gateway(root / "imap", args.db)
            imap_outcomes: Counter[str] = Counter()
            intake = intake_delivery(imap_gw.intake)

            def deliver(raws: Sequence[bytes]) -> list[str | Exception]:
                results = intake(raws)
                imap_outcomes.update(r.split()[0] for r in results if isinstance(r, str))
                return results

            stop = threading.Event()
            settings = poller_settings(server, batch_size=args.batch_size)
            # One pass drains the backlog; stop after it instead of waiting in IDLE.
            poller = MailboxPoller(settings, deliver, stop, stop.set)
            imap_time, imap_peak = measured(poller.run)
            imap_tickets = imap_outcomes["created"]
            moved = server.count("Processed")
            left = server.count("INBOX")
            imap_gw.close()
        finally:
            server.stop()

    assert base_tickets == n, f"baseline made {base_tickets} tickets"
    assert imap_tickets == n and moved == n and left == 0, (imap_tickets, moved, left)
    mib = 1024 * 1024
    print(f"messages:                      {n} (batch size {args.batch_size})")
    print(f"Maildir ingest (baseline):     {base_time / n * 1e3:7.3f} ms/message, "
          f"peak {base_peak / mib:6.1f} MiB traced")  # fmt: skip
    print(f"IMAP drain:                    {imap_time / n * 1e3:7.3f} ms/message, "
          f"peak {imap_peak / mib:6.1f} MiB traced")  # fmt: skip
    print(f"ratio IMAP/Maildir time:       {imap_time / base_time:7.2f}x")
    print(f"ratio IMAP/Maildir peak:       {imap_peak / base_peak:7.2f}x")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process max RSS (both runs):   {rss:7.1f} MiB")
    print(f"tickets created {imap_tickets}, moved to Processed {moved}, left in INBOX {left}")


if __name__ == "__main__":
    main()
