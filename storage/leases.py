"""Leases: one process among several sharing a store does a given job (the lifecycle
sweep, polling one IMAP mailbox).

On PostgreSQL a lease is a session-level advisory lock (`pg_try_advisory_lock`)
held on a connection of its own: when the holder dies, its backend ends and
the lock is free at once, so another instance takes over at its next try. On
SQLite it is an `flock` on a file beside the database, which the kernel drops
when the holder dies. Correctness never rests on a lease alone: timers and
outbox rows are claimed with row locks and mail is deduplicated by Message-ID;
a lease only keeps the work from being attempted twice.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import threading
from pathlib import Path

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from storage.db import make_engine

log = logging.getLogger(__name__)


def lease_key(name: str) -> int:
    """A stable signed 64-bit key for `name` (advisory locks take a bigint)."""
    digest = hashlib.sha256(f"ticketgate:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class Lease:
    """The right to do job `name` until this process ends or `release` is called."""

    def __init__(self, engine: Engine, name: str, lock_dir: Path) -> None:
        # A lease's connection lives as long as the lease: outside the store's pool, so
        # held leases never starve the intake of connections.
        url = engine.url.render_as_string(hide_password=False)
        self.engine = make_engine(url, poolclass=NullPool)
        self.name = name
        self.lock_dir = lock_dir
        self._connection: Connection | None = None
        self._fd: int | None = None
        self._guard = threading.Lock()

    @property
    def held(self) -> bool:
        return self._connection is not None or self._fd is not None

    def try_acquire(self) -> bool:
        """Take the lease if nobody holds it; True while this process holds it. A holder
        whose database connection broke has lost it and tries again."""
        with self._guard:
            if self._connection is not None and not self._alive(self._connection):
                log.warning("lost the %s lease (database connection broke)", self.name)
                self._drop_connection()
            if self.held:
                return True
            if self.engine.dialect.name == "postgresql":
                return self._take_advisory_lock()
            return self._take_lock_file()

    def release(self) -> None:
        with self._guard:
            self._drop_connection()
            if self._fd is not None:
                os.close(self._fd)  # closing drops the flock
                self._fd = None

    def _take_advisory_lock(self) -> bool:
        try:
            connection = self.engine.connect()
        except SQLAlchemyError:
            return False
        try:
            got = connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": lease_key(self.name)}
            ).scalar()
            connection.commit()  # the lock is session-level: it outlives this transaction
        except SQLAlchemyError:
            connection.close()
            return False
        if not got:
            connection.close()
            return False
        self._connection = connection
        log.info("took the %s lease", self.name)
        return True

    def _take_lock_file(self) -> bool:
        self.lock_dir.mkdir(parents=True, exist_ok=True)
        path = self.lock_dir / f"lease-{lease_key(self.name) & 0xFFFFFFFF:08x}.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{self.name}\n{os.getpid()}\n".encode())
        self._fd = fd
        log.info("took the %s lease", self.name)
        return True

    @staticmethod
    def _alive(connection: Connection) -> bool:
        try:
            connection.execute(text("SELECT 1"))
            connection.commit()
            return True
        except SQLAlchemyError:
            return False

    def _drop_connection(self) -> None:
        """Give the lock back and end the lease's own connection."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            connection.execute(
                text("SELECT pg_advisory_unlock(:key)"), {"key": lease_key(self.name)}
            )
            connection.commit()
            connection.close()
        except SQLAlchemyError:
            connection.invalidate()  # a broken session: discard it, and its lock with it
