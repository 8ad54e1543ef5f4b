"""`outbox`: N queued mails drained by the outbox worker to a sink relay, against
aiosmtplib sending the same bytes to the same sink directly over one connection."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

import aiosmtplib

from bench.mix import generate
from bench.servers import sink, write_config
from bench.table import Row, median
from gateway.config.settings import load_settings
from gateway.domain import MailKind, OutgoingMail
from gateway.runtime.app import build
from storage.outbox import Outbox


def _direct(port: int, contents: list[tuple[str, bytes]]) -> float:
    async def go() -> float:
        start = time.perf_counter()
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port)
        await client.connect()
        for rcpt, content in contents:
            await client.sendmail("suporte@example.com", [rcpt], content)
        await client.quit()
        return time.perf_counter() - start

    return asyncio.run(go())


def _worker(port: int, folder: Path, contents: list[tuple[str, bytes]], tag: str) -> float:
    gateway = build(load_settings(write_config(folder, relay_port=port)))
    try:
        now = datetime.now(UTC)
        with gateway.db.transaction() as session:
            queue = Outbox(session)
            for i, (rcpt, content) in enumerate(contents):
                queue.enqueue(
                    OutgoingMail(
                        kind=MailKind.ACKNOWLEDGEMENT,
                        message_id=f"<o{i}.{tag}@bench>",
                        mail_from="suporte@example.com",
                        recipients=(rcpt,),
                        content=content,
                        ticket=None,
                    ),
                    now,
                )
        start = time.perf_counter()
        result = asyncio.run(gateway.outbox.flush())
        elapsed = time.perf_counter() - start
        if result.sent != len(contents):
            raise RuntimeError(f"outbox sent {result.sent} of {len(contents)}: {result}")
        return elapsed
    finally:
        gateway.close()


def run(root: Path, n: int, rounds: int) -> list[Row]:
    contents = [(m.sender, m.raw) for m in generate(n, "outbox")]
    direct, worker = [], []
    with sink("bare", root / "relay") as port:
        for r in range(rounds):
            direct.append(_direct(port, contents))
            worker.append(_worker(port, root / f"gw{r}", contents, f"r{r}"))
    d, w = median(direct), median(worker)
    return [
        Row(
            "outbox",
            "worker / direct aiosmtplib",
            d / w,
            f"worker {n / w:.0f}/s, direct {n / d:.0f}/s ({n} mails)",
            "≥ 0.80",
        )
    ]
