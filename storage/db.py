"""Engines, transactions and schema migrations for both supported databases.

SQLite is the embedded default (WAL mode, writers serialized with BEGIN
IMMEDIATE so a read-then-write transaction never fails half-way with
"database is locked"); PostgreSQL is the production store. Start-up runs the
Alembic migrations to head before anything else touches the database.
"""

from __future__ import annotations

import functools
import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

_MIGRATIONS = Path(__file__).with_name("migrations")


# libpq's connection settings: a dead network or server is noticed within seconds (TCP
# keepalives, tcp_user_timeout), not after TCP's quarter-hour of retransmissions, so a
# commit, a claim or a lease check never hangs a thread that long.
POSTGRES_CONNECT_ARGS = {
    "connect_timeout": 10,
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 15000,
}


# The outbox claims a hand of mail with UPDATE … RETURNING, which SQLite has since 3.35.
SQLITE_AT_LEAST = (3, 35, 0)


class UnsupportedStore(RuntimeError):
    """The database software is too old for the gateway; the message says what to do."""


def make_engine(url: str, **options: Any) -> Engine:
    """An engine for `url`; SQLite gets WAL, a busy timeout and immediate writes,
    PostgreSQL connections that notice a dead peer. `options` go to `create_engine`."""
    if url.startswith("sqlite"):
        if sqlite3.sqlite_version_info < SQLITE_AT_LEAST:
            raise UnsupportedStore(
                f"this Python links SQLite {sqlite3.sqlite_version}; ticketgate needs "
                f"{'.'.join(map(str, SQLITE_AT_LEAST))} or newer (Debian 12, Ubuntu 22.04 "
                "and later have it), or use PostgreSQL ([storage] url)"
            )
        engine = create_engine(url, connect_args={"timeout": 60}, **options)
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, connect_args=POSTGRES_CONNECT_ARGS, **options)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=60000")
    cursor.close()


def _sqlite_on_begin(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


# Any constant shared by every instance: the key of the PostgreSQL advisory lock that lets
# one of several gateways starting at once run the migrations while the others wait.
_MIGRATION_LOCK = 7_140_001


def _alembic_config() -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision, once even when several instances
    start together on one PostgreSQL (they queue on an advisory lock)."""
    cfg = _alembic_config()
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")


@dataclass(frozen=True)
class SchemaRevision:
    """Where the store's schema stands against the migrations this release ships."""

    current: str | None
    head: str

    @property
    def is_current(self) -> bool:
        return self.current == self.head


@functools.cache
def _shipped_head() -> str:
    """The newest migration of this release (read once: it cannot change while running)."""
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None, "storage/migrations has no revision"
    return head


def schema_revision(engine: Engine) -> SchemaRevision:
    """The store's revision and the newest shipped one; reads only, never migrates."""
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    return SchemaRevision(current, _shipped_head())


class Database:
    """The one handle to the store; a use case opens one transaction with it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.is_postgres = engine.dialect.name == "postgresql"
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def open(cls, url: str, *, run_migrations: bool = True) -> Database:
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = make_engine(url)
        if run_migrations:
            migrate(engine)
        return cls(engine)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work commits on success and rolls back on any error."""
        with self._sessions.begin() as session:
            yield session

    def schema_current(self) -> bool:
        """The database answers and its schema is at the newest migration (`/readyz`)."""
        return schema_revision(self.engine).is_current

    def close(self) -> None:
        self.engine.dispose()
