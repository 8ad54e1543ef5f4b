"""Column types that store only what both databases can hold.

Every string bound to a text column, in a row or in a query's parameters, goes
through `storable` (gateway/domain/storable.py): NUL and lone surrogates become
U+FFFD on SQLite and PostgreSQL alike, so a hostile subject neither makes
PostgreSQL refuse the transaction (451 forever) nor reaches SQLite raw.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, String, Text, TypeDecorator

from gateway.domain.storable import storable, storable_value


class CleanString(TypeDecorator[str]):
    """VARCHAR(n) holding storable text."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return storable(value) if isinstance(value, str) else value


class CleanText(TypeDecorator[str]):
    """TEXT holding storable text."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return storable(value) if isinstance(value, str) else value


class CleanJSON(TypeDecorator[Any]):
    """JSON whose strings are storable (PostgreSQL's JSON cannot hold NUL either)."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        return storable_value(value)
