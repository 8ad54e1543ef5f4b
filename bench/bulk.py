"""`bulk-ingest`: a Maildir and an mbox of the mix, through the code `ticketgate ingest`
runs (its `batches`, each one `Intake.receive_group` and one commit),
against the work floor reading the same files (stdlib parse and one SQLite WAL commit
per message)."""

from __future__ import annotations

import contextlib
import mailbox
import sqlite3
import time
from email import policy
from email.parser import BytesParser
from pathlib import Path

from bench.mix import generate
from bench.servers import write_config
from bench.table import Row, median
from gateway.cli.ingest import batches, each_message
from gateway.cli.sources import open_sources
from gateway.config.settings import load_settings
from gateway.runtime.app import build


def _floor(source: Path, db: Path) -> float:
    parser = BytesParser(policy=policy.default)
    start = time.perf_counter()
    with contextlib.closing(sqlite3.connect(db, isolation_level=None)) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute(
            "CREATE TABLE mail (id INTEGER PRIMARY KEY, message_id TEXT, subject TEXT, raw BLOB)"
        )
        for src in open_sources([source]):
            for raw in src.messages():
                msg = parser.parsebytes(raw)
                conn.execute("BEGIN IMMEDIATE")
                conn.execute(
                    "INSERT INTO mail (message_id, subject, raw) VALUES (?, ?, ?)",
                    (str(msg["Message-ID"]), str(msg["Subject"]), raw),
                )
                conn.execute("COMMIT")
    return time.perf_counter() - start


def _gateway(source: Path, folder: Path) -> float:
    gateway = build(load_settings(write_config(folder)))
    try:
        start = time.perf_counter()
        for batch in batches(each_message(open_sources([source]))):
            gateway.intake.receive_group([raw for _, raw in batch], None, "ingest")
        return time.perf_counter() - start
    finally:
        gateway.close()


def run(root: Path, n: int, rounds: int) -> list[Row]:
    mails = generate(n, "bulk")
    maildir = mailbox.Maildir(root / "Maildir", factory=None, create=True)
    for mail in mails:
        maildir.add(mail.raw)
    box = mailbox.mbox(root / "mail.mbox", create=True)
    for mail in mails:
        box.add(mail.raw)
    box.close()
    rows = []
    for label, source in (("Maildir", root / "Maildir"), ("mbox", root / "mail.mbox")):
        floor, ours = [], []
        for r in range(rounds):
            floor.append(_floor(source, root / f"floor-{label}-{r}.db"))
            ours.append(_gateway(source, root / f"gw-{label}-{r}"))
        f, g = median(floor), median(ours)
        rows.append(
            Row(
                f"bulk-ingest {label}",
                "ingest / floor",
                f / g,
                f"ingest {n / g:.0f}/s, floor {n / f:.0f}/s ({n} mails)",
                "≥ 0.70",
            )
        )
    return rows
