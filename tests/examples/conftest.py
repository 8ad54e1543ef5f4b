"""An example deployment (examples/<name>/) run as shipped: its folder is copied to the
test's tmp_path and `ticketgate serve` starts on its own ticketgate.toml, with only the
test's SMTP and HTTP ports, its relay (the real sink) and its database injected."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.examples import Deployment, injected
from tests.support.gateway_process import ServeProcess
from tests.support.sink import SmtpSink

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def deploy(tmp_path: Path, db_url: str, sink: SmtpSink) -> Iterator[Callable[[str], Deployment]]:
    started: list[ServeProcess] = []

    def start(name: str) -> Deployment:
        folder = tmp_path / name
        shutil.copytree(EXAMPLES / name, folder, ignore=shutil.ignore_patterns("var"))
        config = injected(folder, db_url, sink.port)
        serve = ServeProcess(config).start()
        started.append(serve)
        return Deployment(config, serve, sink)

    yield start
    for serve in started:
        serve.stop()
