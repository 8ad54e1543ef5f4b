"""A throwaway PostgreSQL cluster on loopback for the test session.

Uses the server binaries of Debian's `postgresql` package (installed by
`.ci/run`); initdb refuses to run as root, so as root the cluster belongs to
the `postgres` system user.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import psycopg

from tests.support.waiting import free_port, wait_for


def _bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    if not found:
        raise RuntimeError(
            "PostgreSQL server binaries not found; install Debian's 'postgresql' package "
            "(scripts/test.sh does this)"
        )
    return Path(found[0])


class PostgresCluster:
    """A throwaway cluster on loopback. Tests run it without fsync (speed, nothing to
    keep); `durable=True` keeps PostgreSQL's defaults, for benchmarks."""

    def __init__(self, durable: bool = False) -> None:
        self.durable = durable
        self.bindir = _bindir()
        self.root = Path(tempfile.mkdtemp(prefix="tg-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.as_root = os.geteuid() == 0

    def _run(self, *args: str) -> None:
        command = list(args)
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True)

    def start(self) -> PostgresCluster:
        if self.as_root:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.root / "log"),
            "-w",
            "-o",
            f"-p {self.port} -h 127.0.0.1 -k {self.root} -c max_connections=200"
            + ("" if self.durable else " -c fsync=off -c synchronous_commit=off")
            + ("" if self.durable else " -c full_page_writes=off"),
            "start",
        )
        wait_for(self._ready, 30, "PostgreSQL to accept connections")
        return self

    def _ready(self) -> bool:
        try:
            with psycopg.connect(self.url("postgres", driver=False), connect_timeout=2):
                return True
        except psycopg.OperationalError:
            return False

    def url(self, database: str, driver: bool = True) -> str:
        scheme = "postgresql+psycopg" if driver else "postgresql"
        return f"{scheme}://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        name = f"tg_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url("postgres", driver=False), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
