"""Peak memory of `serve` for big mail: one 25 MB message, then four at once.

Starts `ticketgate serve` (SQLite, a pickup folder for outgoing mail) in a
subprocess, reads its idle RSS, sends the mail over SMTP from an authorized
contact (the costly path: parsed, attachments decoded and stored) and reads the
process's peak RSS (VmHWM) after the 250. Each scenario gets a fresh process,
so one peak never hides another. Prints the peak over idle as a multiple of
the message size; issue 12's targets are ≤ 6× for one mail and, for four at
once, ≤ 1.5× the one-mail peak. A stranger's mail is measured too: it must
not be decoded beyond its header.

    .venv/bin/python -m bench.big_mail [--mb 25]
"""

from __future__ import annotations

import argparse
import base64
import os
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.servers import sink
from bench.table import Row, median
from tests.support.waiting import free_port

DIRECTORY = """\
queues: [{id: n1, name: N1}]
organizations:
  - id: alfa
    name: Alfa
    domains: [alfa.edu.br]
    contacts: [{email: maria@alfa.edu.br, name: Maria, can_open_tickets: true}]
"""


def big_mail(size: int, n: int, sender: str) -> bytes:
    """A Outlook-like mail: a short text part and one base64 attachment filling `size`."""
    binary = os.urandom(size * 3 // 4 - 2000)
    encoded = base64.encodebytes(binary).replace(b"\n", b"\r\n")
    head = (
        f"From: <{sender}>\r\nTo: suporte@example.com\r\nSubject: Planilha {n}\r\n"
        f"Message-ID: <big-{n}-{time.time_ns()}@alfa.edu.br>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
        "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSegue a planilha.\r\n"
        '--b1\r\nContent-Type: application/octet-stream; name="dados.bin"\r\n'
        'Content-Disposition: attachment; filename="dados.bin"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n"
    ).encode()
    return head + encoded + b"--b1--\r\n"


def memory(pid: int, field: str) -> int:
    """A /proc status field (VmRSS now, VmHWM the peak) in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def send(port: int, raw: bytes, sender: str) -> int:
    with smtplib.SMTP("127.0.0.1", port, timeout=300) as client:
        client.ehlo("bench.test")
        client.mail(sender)
        client.rcpt("suporte@example.com")
        code, _ = client.data(raw)
        return code


def scenario(root: Path, mails: list[bytes], sender: str) -> tuple[int, int, float]:
    """Idle RSS, peak RSS of a fresh `serve` that received `mails` at once, and the seconds
    from the first byte sent to the last 250."""
    port = free_port()
    folder = root / f"run-{port}"
    folder.mkdir()
    (folder / "directory.yaml").write_text(DIRECTORY)
    (folder / "ticketgate.toml").write_text(
        '[gateway]\nsupport_addresses = ["suporte@example.com"]\ndata_dir = "data"\n'
        f"[smtp]\nport = {port}\nworkers = 1\nmax_message_bytes = 104857600\n"  # RSS of one process
        '[relay]\npickup_dir = "sent"\n'
        "[http]\nport = 0\n"
    )
    env = dict(os.environ, TICKETGATE_SECRET="bench-secret-bench-secret-bench")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway", "--config", str(folder / "ticketgate.toml"), "serve"],
        stdout=subprocess.DEVNULL,
        stderr=(folder / "serve.log").open("wb"),
        env=env,
    )
    try:
        for _ in range(600):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        time.sleep(2)  # the scheduler's and watcher's first rounds
        idle = memory(proc.pid, "VmRSS")
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=len(mails)) as pool:
            codes = list(pool.map(lambda raw: send(port, raw, sender), mails))
        took = time.perf_counter() - start
        assert all(code == 250 for code in codes), codes
        return idle, memory(proc.pid, "VmHWM"), took
    finally:
        proc.terminate()
        proc.wait(30)


def run(root: Path, rounds: int, mb: float = 25.0) -> list[Row]:
    """The suite's `big-mail` rows: time against the bare sink taking the same mail, and
    peak RSS over idle as a multiple of the message size (each round a fresh `serve`)."""
    size = int(mb * 1024 * 1024)
    maria = "maria@alfa.edu.br"
    bare, served, one, four = [], [], [], []
    with sink("bare", root / "bare") as port:
        for r in range(rounds):
            start = time.perf_counter()
            assert send(port, big_mail(size, 100 + r, maria), maria) == 250
            bare.append(time.perf_counter() - start)
    for r in range(rounds):
        idle, peak, took = scenario(root, [big_mail(size, r, maria)], maria)
        served.append(took)
        one.append((peak - idle) / size)
        idle, peak, _ = scenario(root, [big_mail(size, 10 * r + n, maria) for n in range(4)], maria)
        four.append((peak - idle) / size)
    b, t = median(bare), median(served)
    return [
        Row(
            f"big-mail {mb:g} MB",
            "serve / bare sink, time",
            b / t,
            f"serve {t:.2f} s, bare {b:.2f} s",
        ),
        Row(f"big-mail {mb:g} MB", "peak RSS over idle / size", median(one), "one mail", "≤ 6"),
        Row(
            f"big-mail {mb:g} MB",
            "four at once / one, peak RSS",
            median(four) / median(one),
            f"four {median(four):.1f}× size",
            "≤ 1.5",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, default=25.0)
    args = parser.parse_args()
    size = int(args.mb * 1024 * 1024)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        maria = "maria@alfa.edu.br"
        idle, peak, _ = scenario(root, [big_mail(size, 0, maria)], maria)
        one = (peak - idle) / size
        print(
            f"one {args.mb:g} MB mail:     idle {idle >> 20} MB, peak {peak >> 20} MB, "
            f"{one:.1f}x size over idle (target <= 6)"
        )
        idle, peak, _ = scenario(root, [big_mail(size, n, maria) for n in range(4)], maria)
        four = (peak - idle) / size
        print(
            f"four at once:         idle {idle >> 20} MB, peak {peak >> 20} MB, "
            f"{four:.1f}x size over idle, {four / one:.2f}x one mail (target <= 1.5)"
        )
        stranger = "someone@elsewhere.example"
        idle, peak, _ = scenario(root, [big_mail(size, 9, stranger)], stranger)
        print(
            f"one from a stranger:  idle {idle >> 20} MB, peak {peak >> 20} MB, "
            f"{(peak - idle) / size:.1f}x size over idle"
        )


if __name__ == "__main__":
    main()
