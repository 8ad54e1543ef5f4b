"""The baselines' SMTP servers, run as their own process like `ticketgate serve`.

    python -m bench.sink --mode bare|floor --port P [--db FILE]

`bare`: aiosmtpd answering 250 to every DATA, doing nothing (the most any
server on aiosmtpd can take). `floor`: the same plus what no mail gateway can
skip — a stdlib `email` parse and one SQLite WAL commit (synchronous=FULL, as
the gateway's) of the raw bytes per mail, before the 250. Also the sink relay
for the outbox benchmark. Prints "ready" on stdout once listening.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sqlite3
from email import policy
from email.parser import BytesParser
from typing import Any

from aiosmtpd.smtp import SMTP


class Bare:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.count += 1
        return "250 OK"


class Floor(Bare):
    def __init__(self, db: str) -> None:
        super().__init__()
        self.parser = BytesParser(policy=policy.default)
        self.conn = sqlite3.connect(db, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS mail (id INTEGER PRIMARY KEY, "
            "message_id TEXT, subject TEXT, raw BLOB)"
        )

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = self.parser.parsebytes(envelope.content)
        self.conn.execute("BEGIN IMMEDIATE")
        self.conn.execute(
            "INSERT INTO mail (message_id, subject, raw) VALUES (?, ?, ?)",
            (str(msg["Message-ID"]), str(msg["Subject"]), envelope.content),
        )
        self.conn.execute("COMMIT")
        self.count += 1
        return "250 OK"


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=("bare", "floor"), default="bare")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", default=":memory:")
    args = parser.parse_args()
    handler: Bare = Floor(args.db) if args.mode == "floor" else Bare()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, decode_data=False, enable_SMTPUTF8=True, data_size_limit=0),
        host="127.0.0.1",
        port=args.port,
    )
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print("ready", flush=True)
    await stop.wait()
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
