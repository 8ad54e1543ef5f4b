"""Shared fixtures: a database per test (SQLite, or PostgreSQL when
TICKETGATE_TEST_DB=postgresql), a real SMTP sink, and gateway configs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.gateway_process import GatewayConfig, ServeProcess
from tests.support.postgres import PostgresCluster
from tests.support.sink import SmtpSink

BACKEND = os.environ.get("TICKETGATE_TEST_DB", "sqlite")


def pytest_report_header() -> str:
    return f"ticketgate database backend: {BACKEND}"


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster | None]:
    if BACKEND != "postgresql":
        yield None
        return
    cluster = PostgresCluster().start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def db_url(tmp_path: Path, postgres: PostgresCluster | None) -> str:
    if postgres is not None:
        return postgres.new_database()
    return f"sqlite:///{tmp_path / 'ticketgate.db'}"


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink().start()
    try:
        yield server
    finally:
        server.stop()
    # A gateway writing pt_BR: none of its mail may read in English (issue 11).
    if server.locale() != "pt_BR":
        return
    english = {m.header("Subject"): m.english() for m in server.mails if m.english()}
    assert not english, f"English words in pt_BR mail: {english}"


@pytest.fixture
def gateway_config(tmp_path: Path, db_url: str, sink: SmtpSink) -> GatewayConfig:
    config = GatewayConfig(folder=tmp_path / "gw", storage_url=db_url, relay_port=sink.port)
    config.write()
    sink.locale = lambda: config.locale  # as the test leaves it (it may switch to "en")
    return config


@pytest.fixture
def serve(gateway_config: GatewayConfig) -> Iterator[ServeProcess]:
    process = ServeProcess(gateway_config).start()
    try:
        yield process
    finally:
        process.stop()
