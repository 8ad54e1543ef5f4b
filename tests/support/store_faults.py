"""A store that refuses one message: a trigger rejecting that Message-ID's receipt row,
on SQLite or PostgreSQL. A real fault inside the intake's transaction (as a full disk
or a broken constraint would raise), for the tests of what the others' mail does then."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.pool import NullPool

_REFUSE = {
    "sqlite": [
        "CREATE TRIGGER refuse BEFORE INSERT ON receipts "
        "WHEN NEW.message_id = '{mid}' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN "
        "IF NEW.message_id = '{mid}' THEN RAISE EXCEPTION 'refused by the test'; END IF; "
        "RETURN NEW; END $$ LANGUAGE plpgsql",
        "CREATE TRIGGER refuse BEFORE INSERT ON receipts FOR EACH ROW EXECUTE FUNCTION refuse()",
    ],
}
_ACCEPT = {
    "sqlite": ["DROP TRIGGER refuse"],
    "postgresql": ["DROP TRIGGER refuse ON receipts", "DROP FUNCTION refuse()"],
}


def refuse_receipt_of(engine: Engine, message_id: str) -> None:
    assert "'" not in message_id
    _run(engine, [s.format(mid=message_id) for s in _REFUSE[engine.dialect.name]])


def accept_again(engine: Engine) -> None:
    _run(engine, _ACCEPT[engine.dialect.name])


def _run(engine: Engine, statements: list[str]) -> None:
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement))


@contextmanager
def store_locked(engine: Engine) -> Iterator[None]:
    """Another process holds the store's write lock, and `engine` gives up on it after a
    moment (SQLite: "database is locked"; PostgreSQL: a lock timeout on the receipts)."""
    postgres = engine.dialect.name == "postgresql"

    def impatient(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("SET lock_timeout = '300ms'" if postgres else "PRAGMA busy_timeout=300")
        cursor.close()
        if postgres:
            dbapi_connection.commit()

    event.listen(engine, "connect", impatient)
    engine.dispose()  # pooled connections are made again, impatient
    other = create_engine(engine.url, poolclass=NullPool)
    with other.connect() as holder:
        if postgres:
            holder.execute(text("BEGIN"))
            holder.execute(text("LOCK TABLE receipts IN ACCESS EXCLUSIVE MODE"))
        else:
            holder.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            holder.rollback()
            event.remove(engine, "connect", impatient)
            engine.dispose()
    other.dispose()
