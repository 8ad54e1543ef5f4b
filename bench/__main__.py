"""Run the benchmark suite and print one table of ratios.

    .venv/bin/python -m bench [--quick] [--only NAME ...]

Every ratio is against a baseline measured in this same run on this machine
(noise of a shared machine cancels); each is the median of at least 3 rounds.
Absolute figures are printed beside them for information. Exits non-zero only
when a benchmark could not run, never because a target was missed.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from bench import big_mail, bulk, outbox, scale, smtp_ingest
from bench.servers import SECRET
from bench.table import Row, render


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument(
        "--only",
        nargs="*",
        default=None,
        choices=("smtp-ingest", "smtp-workers", "bulk-ingest", "outbox", "big-mail", "scale"),
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--smtp-mails", type=int, default=None, help="mails per round (2000)")
    parser.add_argument("--bulk-mails", type=int, default=None, help="Maildir/mbox size (10000)")
    parser.add_argument("--outbox-mails", type=int, default=None, help="queued mails (5000)")
    parser.add_argument(
        "--scale",
        type=int,
        nargs=2,
        default=None,
        metavar=("SMALL", "LARGE"),
        help="ticket counts (10000 1000000)",
    )
    args = parser.parse_args()
    quick = args.quick
    rounds = max(3, args.rounds)
    smtp_n = args.smtp_mails or (200 if quick else 2000)
    bulk_n = args.bulk_mails or (300 if quick else 10_000)
    outbox_n = args.outbox_mails or (300 if quick else 5000)
    small, large = args.scale or ((1000, 10_000) if quick else (10_000, 1_000_000))
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("TICKETGATE_SECRET", SECRET)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    suites: dict[str, Callable[[Path], list[Row]]] = {
        "smtp-ingest": lambda root: smtp_ingest.run(root, smtp_n, rounds, (1, 4, 16)),
        "smtp-workers": lambda root: smtp_ingest.run_workers(root, smtp_n, rounds),
        "bulk-ingest": lambda root: bulk.run(root, bulk_n, rounds),
        "outbox": lambda root: outbox.run(root, outbox_n, rounds),
        "big-mail": lambda root: big_mail.run(root, rounds, 5.0 if quick else 25.0),
        "scale": lambda root: scale.run(root, (small, large), rounds),
    }
    rows: list[Row] = []
    failed = []
    for name, suite in suites.items():
        if args.only is not None and name not in args.only:
            continue
        start = time.monotonic()
        print(f"running {name} …", file=sys.stderr)
        try:
            with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as folder:
                got = suite(Path(folder))
        except Exception:
            traceback.print_exc()
            failed.append(name)
            rows.append(Row(name, "could not run", None, "see the traceback above"))
            continue
        rows.extend(got)
        print(f"  {name} took {time.monotonic() - start:.0f}s", file=sys.stderr)
    load = os.getloadavg()
    sizes = (
        f"smtp {smtp_n} mails/round, bulk {bulk_n}, outbox {outbox_n}, scale {small:,}/{large:,}"
    )
    print(
        f"\nmachine: {os.cpu_count()} cores, load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
        f"{'quick' if quick else 'full'} mode ({sizes}), {rounds} rounds, medians\n"
    )
    print(render(rows))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
