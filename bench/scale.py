"""`scale`: does a bigger store slow the per-mail and per-timer work down?

Builds a store of N tickets with bulk SQL inserts (each with its own
requester, one inbound message, a receipt and two timers; waiting on the
customer, 1% of them with a reminder due), then measures at each size: the
thread lookup a reply makes (`TicketRepository.ref_for_message_ids`, the
median of 200 random replies) and one scheduler sweep (`Sweeper.run_once`,
per fired timer). The figure is the large store's cost over the small one's.
"""

from __future__ import annotations

import contextlib
import random
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.servers import write_config
from bench.table import Row, median
from gateway.config.settings import load_settings
from gateway.runtime.app import build
from storage.repository import TicketRepository

_FMT = "%Y-%m-%d %H:%M:%S.%f"
_CHUNK = 50_000


def _populate(db: Path, n: int, now: datetime) -> None:
    past = (now - timedelta(days=20)).strftime(_FMT)
    due = (now - timedelta(minutes=1)).strftime(_FMT)
    later = (now + timedelta(days=30)).strftime(_FMT)
    with contextlib.closing(sqlite3.connect(db, isolation_level=None)) as conn:
        conn.execute("PRAGMA synchronous=OFF")  # building the fixture, not measuring it
        for lo in range(1, n + 1, _CHUNK):
            ids = range(lo, min(n, lo + _CHUNK - 1) + 1)
            conn.execute("BEGIN")
            conn.executemany(
                "INSERT INTO tickets (id, subject, status, priority, category, environment, queue,"
                " requester, requester_name, organization_id, tags, followers, created_at,"
                " updated_at, status_since, awaiting_since, first_responded_at,"
                " sla_paused_seconds, sla_paused_elapsed_seconds) VALUES (?, ?, 'waiting_customer',"
                " 3, 'question', 'production', 'n1', ?, 'Contato', 'org0', '[]', '[]', ?, ?, ?, ?,"
                " ?, 0, 0)",
                (
                    (i, f"Pedido {i}", f"p{i}@escola0.edu.br", past, past, past, past, past)
                    for i in ids
                ),
            )
            conn.executemany(
                "INSERT INTO messages (id, ticket_id, message_id, direction, visibility, sender,"
                " recipients, subject, body, body_html, created_at) VALUES (?, ?, ?, 'inbound',"
                " 'public', ?, '[]', ?, 'O relatório não abre.', '', ?)",
                (
                    (
                        i,
                        i,
                        f"<t{i}@scale.example>",
                        f"p{i}@escola0.edu.br",
                        f"Pedido {i}",
                        past,
                    )
                    for i in ids
                ),
            )
            conn.executemany(
                "INSERT INTO receipts (id, dedup_key, message_id, raw_sha256, size, sender,"
                " channel, outcome, reason, ticket_id, received_at)"
                " VALUES (?, ?, ?, ?, 3000, ?, 'smtp', 'created', '', ?, ?)",
                (
                    (
                        i,
                        f"<t{i}@scale.example>",
                        f"<t{i}@scale.example>",
                        f"{i:064x}",
                        f"p{i}@escola0.edu.br",
                        i,
                        past,
                    )
                    for i in ids
                ),
            )
            conn.executemany(
                "INSERT INTO timers (ticket_id, kind, key, due_at, state, level, created_at)"
                " VALUES (?, ?, ?, ?, 'pending', 0, ?)",
                (
                    row
                    for i in ids
                    for row in (
                        (i, "reminder", "reminder", due if i % 100 == 0 else later, past),
                        (i, "auto_resolve", "auto_resolve", later, past),
                    )
                ),
            )
            conn.execute("COMMIT")


def _measure(folder: Path, n: int, rounds: int) -> tuple[float, float, int]:
    """(seconds per lookup, seconds per fired timer, fired per sweep) at `n` tickets."""
    gateway = build(load_settings(write_config(folder)))
    db = folder / "data" / "ticketgate.db"
    now = datetime.now(UTC)
    try:
        _populate(db, n, now)
        rng = random.Random(n)
        lookups, sweeps, fired = [], [], 0
        for _ in range(rounds):
            with gateway.db.transaction() as session:
                tickets = TicketRepository(session)
                samples = []
                for _ in range(200):
                    mid = f"<t{rng.randint(1, n)}@scale.example>"
                    start = time.perf_counter()
                    found = tickets.ref_for_message_ids([f"<reply-{mid}>", mid])
                    samples.append(time.perf_counter() - start)
                    assert found is not None
                lookups.append(median(samples))
            # One sweep fires at most BATCH x MAX_PASSES timers (gateway/lifecycle/sweeper.py);
            # at 1,000,000 tickets 1% due takes the scheduler's next ticks too.
            start = time.perf_counter()
            fired = 0
            while fired < n // 100:
                result = gateway.sweeper.run_once(now)
                if not result.total:
                    raise RuntimeError(f"sweeps fired {fired} of {n // 100} due: {result}")
                fired += result.total
            elapsed = time.perf_counter() - start
            sweeps.append(elapsed / fired)
            with contextlib.closing(sqlite3.connect(db, isolation_level=None)) as conn:
                conn.execute(
                    "UPDATE timers SET state = 'pending', fired_at = NULL"
                    " WHERE kind = 'reminder' AND state = 'fired'"
                )
        return median(lookups), median(sweeps), fired
    finally:
        gateway.close()


def run(root: Path, sizes: tuple[int, int], rounds: int) -> list[Row]:
    small, large = sizes
    s_look, s_sweep, s_fired = _measure(root / "small", small, rounds)
    l_look, l_sweep, l_fired = _measure(root / "large", large, rounds)
    return [
        Row(
            f"scale {large:,} vs {small:,}",
            "thread lookup, large / small",
            l_look / s_look,
            f"{l_look * 1e6:.0f} µs vs {s_look * 1e6:.0f} µs",
            "≤ 1.5",
        ),
        Row(
            f"scale {large:,} vs {small:,}",
            "sweep per fired timer, large / small",
            l_sweep / s_sweep,
            f"{l_sweep * 1e3:.2f} ms vs {s_sweep * 1e3:.2f} ms ({l_fired} and {s_fired} due)",
            "≤ 1.5",
        ),
    ]
