"""A lean SMTP load generator: c connections, each sending mail after mail.

Plain asyncio streams, no library between the clock and the socket, so the
client costs the same against every server it is pointed at. Latency is the
time from writing the final "." of DATA to reading the reply (end-of-DATA →
250). With `rate`, mail i is due at start + i/rate (open loop): a slow server
shows as latency, not as a slower client.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from bench.mix import Mail


@dataclass
class Run:
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    codes: dict[int, int] = field(default_factory=dict)

    @property
    def accepted(self) -> int:
        return self.codes.get(250, 0)


async def _reply(reader: asyncio.StreamReader) -> int:
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionError("server closed the connection")
        if line[3:4] != b"-":
            return int(line[:3])


def _stuffed(raw: bytes) -> bytes:
    body = raw.replace(b"\r\n.", b"\r\n..")
    if body.startswith(b"."):
        body = b"." + body
    return body + (b"" if body.endswith(b"\r\n") else b"\r\n")


async def _connection(
    port: int, mails: Sequence[Mail], cursor: list[int], start: float, rate: float | None, run: Run
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
    await _reply(reader)
    writer.write(b"EHLO bench.example\r\n")
    await _reply(reader)
    while cursor[0] < len(mails):
        i = cursor[0]
        cursor[0] += 1
        if rate:
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        mail = mails[i]
        for command in (f"MAIL FROM:<{mail.sender}>", "RCPT TO:<suporte@example.com>", "DATA"):
            writer.write(command.encode() + b"\r\n")
            code = await _reply(reader)
            if code >= 400:
                break
        else:
            writer.write(_stuffed(mail.raw))
            await writer.drain()
            sent = time.perf_counter()
            writer.write(b".\r\n")
            code = await _reply(reader)
            run.latencies.append(time.perf_counter() - sent)
        if code >= 400:
            writer.write(b"RSET\r\n")
            await _reply(reader)
        run.codes[code] = run.codes.get(code, 0) + 1
    writer.write(b"QUIT\r\n")
    await writer.drain()
    writer.close()


async def blast(
    port: int, mails: Sequence[Mail], connections: int, rate: float | None = None
) -> Run:
    """Send every mail over `connections` connections; the wall time and each latency."""
    run = Run()
    cursor = [0]
    start = time.perf_counter()
    await asyncio.gather(
        *(_connection(port, mails, cursor, start, rate, run) for _ in range(connections))
    )
    run.elapsed = time.perf_counter() - start
    return run


def send(port: int, mails: Sequence[Mail], connections: int, rate: float | None = None) -> Run:
    return asyncio.run(blast(port, mails, connections, rate))
