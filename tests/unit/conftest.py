"""Fixtures of the unit tests that talk to a real Dovecot (the IMAP poller, its leases)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.dovecot import Dovecot


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    server = Dovecot().start()
    try:
        server.create_folders("Processed", "Errors")
        yield server
    finally:
        server.stop()
