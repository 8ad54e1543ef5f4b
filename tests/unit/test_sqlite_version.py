"""An SQLite too old for the gateway is refused at the start with what to do, not with
an outbox that fails on every flush."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from storage.db import UnsupportedStore, make_engine


def test_an_sqlite_without_returning_is_refused_with_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Patched: no SQLite older than 3.35 can be installed beside this one (Debian 11 had
    # 3.34); the refusal reads only the version the sqlite3 module reports.
    monkeypatch.setattr(sqlite3, "sqlite_version_info", (3, 34, 1))
    monkeypatch.setattr(sqlite3, "sqlite_version", "3.34.1")
    with pytest.raises(UnsupportedStore, match=r"SQLite 3\.34\.1; .* 3\.35\.0 or newer"):
        make_engine(f"sqlite:///{tmp_path / 'x.db'}")


def test_this_machines_sqlite_is_enough(tmp_path: Path) -> None:
    make_engine(f"sqlite:///{tmp_path / 'x.db'}").dispose()
