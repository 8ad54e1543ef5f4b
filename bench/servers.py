"""Starting what the benchmarks measure, each in its own process: the baselines' sinks
and `ticketgate serve` (SQLite, its relay pointed at a bare sink)."""

from __future__ import annotations

import contextlib
import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import create_engine, text

from bench.mix import DIRECTORY
from tests.support.gateway_process import NO_LIMITS
from tests.support.waiting import free_port

SECRET = "bench-secret-bench-secret-bench"


def _wait_listening(proc: subprocess.Popen[bytes], port: int, what: str) -> None:
    for _ in range(600):
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode} before listening")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port}")


@contextlib.contextmanager
def _running(
    args: list[str], port: int, what: str, log: Path, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(
        args, stdout=subprocess.DEVNULL, stderr=log.open("wb"), env=env or dict(os.environ)
    )
    try:
        _wait_listening(proc, port, what)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def sink(mode: str, folder: Path) -> Iterator[int]:
    """A bare or floor sink (bench/sink.py) on a free port; yields the port."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    args = [
        sys.executable,
        "-m",
        "bench.sink",
        "--mode",
        mode,
        "--port",
        str(port),
        "--db",
        str(folder / "floor.db"),
    ]
    with _running(args, port, f"{mode} sink", folder / "sink.log"):
        yield port


def write_config(
    folder: Path,
    smtp_port: int = 0,
    relay_port: int = 0,
    extra: str = "",
    workers: int = 1,
    storage_url: str = "",
    directory: str = DIRECTORY,
) -> Path:
    """A `serve` config for the benches: every flood limit off, one process unless asked."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "directory.yaml").write_text(directory)
    relay = f'[relay]\nhost = "127.0.0.1"\nport = {relay_port}\n' if relay_port else ""
    relay += f'[storage]\nurl = "{storage_url}"\n' if storage_url else ""
    config = folder / "ticketgate.toml"
    config.write_text(
        '[gateway]\nsupport_addresses = ["suporte@example.com"]\ndata_dir = "data"\n'
        f"[smtp]\nport = {smtp_port}\nworkers = {workers}\n{relay}[http]\nport = 0\n"
        # Thousands of mails from a few customers measure throughput, not a loop.
        f"[limits]\n{NO_LIMITS}{extra}"
    )
    return config


class Serve:
    """A running `ticketgate serve`: its SMTP port and a look into its outbox."""

    def __init__(self, folder: Path, port: int, storage_url: str = "") -> None:
        self.folder = folder
        self.port = port
        self.engine = create_engine(storage_url) if storage_url else None

    def unsent(self) -> int:
        query = "SELECT count(*) FROM outbox WHERE status != 'sent'"
        if self.engine is not None:
            with self.engine.connect() as connection:
                return int(connection.execute(text(query)).scalar_one())
        with contextlib.closing(sqlite3.connect(self.folder / "data" / "ticketgate.db")) as db:
            return int(db.execute(query).fetchone()[0])

    def wait_drained(self, timeout: float = 600) -> None:
        deadline = time.monotonic() + timeout
        while self.unsent():
            if time.monotonic() > deadline:
                raise RuntimeError(f"outbox not drained after {timeout}s")
            time.sleep(0.02)


@contextlib.contextmanager
def serve(
    folder: Path, relay_port: int, extra: str = "", workers: int = 1, storage_url: str = ""
) -> Iterator[Serve]:
    port = free_port()
    config = write_config(folder, port, relay_port, extra, workers, storage_url)
    env = dict(os.environ, TICKETGATE_SECRET=SECRET)
    args = [sys.executable, "-m", "gateway", "--config", str(config), "serve"]
    with _running(args, port, "ticketgate serve", folder / "serve.log", env):
        yield Serve(folder, port, storage_url)
