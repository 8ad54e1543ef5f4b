"""Fixtures of the customer pages' end-to-end tests: `serve` with its HTTP edge on a free
port, and a headless Chromium to open and click its pages."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.browser import Browser
from tests.support.gateway_process import GatewayConfig, ServeProcess
from tests.support.waiting import free_port, wait_for


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


@pytest.fixture
def http_port(gateway_config: GatewayConfig) -> int:
    port = free_port()
    with gateway_config.path.open("a", encoding="utf-8") as handle:
        handle.write(f'\n[http]\nhost = "127.0.0.1"\nport = {port}\n')
        handle.write(f'public_url = "http://127.0.0.1:{port}"\nread_timeout = 3\n')
    return port


@pytest.fixture
def served(gateway_config: GatewayConfig, http_port: int) -> Iterator[ServeProcess]:
    process = ServeProcess(gateway_config).start()
    try:
        wait_for(lambda: _status(f"http://127.0.0.1:{http_port}/healthz") == 200, 30, "/healthz")
        yield process
    finally:
        process.stop()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    # No skip: scripts/test.sh installs Debian's chromium, and Browser fails loudly without it.
    opened = Browser(tmp_path / "chromium-profile")
    try:
        yield opened
    finally:
        opened.close()
