"""A store that refuses one message: a trigger rejecting that Message-ID's receipt row,
on SQLite or PostgreSQL. A real fault inside the intake's transaction (as a full disk
or a broken constraint would raise), for the tests of what the others' mail does then."""

from __future__ import annotations

from sqlalchemy import Engine, text

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
