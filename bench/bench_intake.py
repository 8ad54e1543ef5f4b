"""How much the intake adds over parsing alone, measured in the same run.

Prints the cost per message of (a) parsing alone (`inbound.mime.parse_message`,
the baseline) and (b) the whole intake (blob store, pipeline, one transaction,
the acknowledgement composed and queued), and their ratio. Absolute numbers
vary on shared machines; the ratio is what to compare between commits.

    .venv/bin/python -m bench.bench_intake [N] [--db URL]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import tempfile
import time
from pathlib import Path

from bench.servers import write_config
from gateway.config.settings import load_settings
from gateway.runtime.app import build
from inbound.mime import parse_message

DIRECTORY = """\
queues: [{id: n1, name: N1}]
organizations:
  - id: alfa
    name: Alfa
    contacts: [{email: maria@alfa.edu.br, name: Maria, can_open_tickets: true}]
"""




def message(n: int) -> bytes:
    body = "Bom dia,\r\n\r\nO relatório de notas não abre desde ontem.\r\n" * 5
    return (
        f"From: Maria Souza <maria@alfa.edu.br>\r\nTo: suporte@example.com\r\n"
        f"Subject: Pedido {n}\r\nMessage-ID: <bench-{n}@alfa.edu.br>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body
    ).encode()


def parse_cost(items: list[bytes], rounds: int = 3) -> float:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for raw in items:
            parse_message(raw)
        samples.append((time.perf_counter() - start) / len(items))
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", type=int, nargs="?", default=300)
    parser.add_argument("--db", default=None, help="database URL (default: SQLite in a temp dir)")
    args = parser.parse_args()
    logging.disable(logging.INFO)
    os.environ.setdefault("TICKETGATE_SECRET", "bench-secret-bench-secret-bench")
    with tempfile.TemporaryDirectory() as folder:
        config = write_config(Path(folder), storage_url=args.db or "", directory=DIRECTORY)
        gateway = build(load_settings(config))
        mails = [message(n) for n in range(args.n)]
        baseline = parse_cost(mails)
        # Every intake round needs new Message-IDs, or it would only measure duplicates.
        rounds = [[message(10**6 + r * args.n + i) for i in range(args.n)] for r in range(3)]
        samples = []
        for chunk in rounds:
            start = time.perf_counter()
            for raw in chunk:
                gateway.intake.receive(raw, None, "bench")
            samples.append((time.perf_counter() - start) / len(chunk))
        intake = statistics.median(samples)
        gateway.close()
    print(f"parse only (baseline): {baseline * 1e3:8.3f} ms/message")
    print(f"whole intake:          {intake * 1e3:8.3f} ms/message")
    print(f"ratio intake/parse:    {intake / baseline:8.1f}x")


if __name__ == "__main__":
    main()
