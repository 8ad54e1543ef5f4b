"""The HTTP edge under malformed and hostile requests, through a real `serve` (issue 12 item 6).

Raw sockets send what a broken client or an attacker would: a bad Content-Length, a body
far over the limit, a request that never finishes its headers or its body, a form that is
no form. Each gets a 4xx or its connection closed within `[http] read_timeout` (3 s
here), and `/healthz` answers after every one. Every answer carries the security headers;
the access log names a link's kind, never its token; links are rate-limited per link and
per client address.
"""

from __future__ import annotations

import re
import socket
import time
import urllib.request
from collections.abc import Iterator

import pytest

from tests.e2e.test_surveys import get, recently
from tests.support.gateway_process import GatewayConfig, ServeProcess
from tests.support.sink import SmtpSink
from tests.support.timetravel import open_ticket
from tests.support.waiting import free_port, wait_for

pytestmark = pytest.mark.e2e
READ_TIMEOUT = 3


@pytest.fixture
def port(gateway_config: GatewayConfig) -> int:
    port = free_port()
    with gateway_config.path.open("a", encoding="utf-8") as handle:
        handle.write(
            f'\n[http]\nhost = "127.0.0.1"\nport = {port}\npublic_url = "http://127.0.0.1:{port}"\n'
            f"read_timeout = {READ_TIMEOUT}\nmax_body_bytes = 16384\n"
            "rate_per_link = 5\nrate_per_address = 40\n"
        )
    return port


@pytest.fixture
def served(gateway_config: GatewayConfig, port: int) -> Iterator[ServeProcess]:
    process = ServeProcess(gateway_config).start()
    try:
        wait_for(lambda: get(f"http://127.0.0.1:{port}/healthz")[0] == 200, 30, "/healthz")
        yield process
    finally:
        process.stop()


def raw(port: int, data: bytes, *, wait: float = READ_TIMEOUT + 7) -> tuple[str, float]:
    """Send `data` and read until the server answers or closes: the status line ("" if it
    closed without one) and how long that took."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as conn:
        conn.sendall(data)
        received = b""
        try:
            while b"\r\n" not in received:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                received += chunk
        except ConnectionResetError:
            pass
    return received.split(b"\r\n", 1)[0].decode(errors="replace"), time.monotonic() - started


def head_of(port: int, data: bytes) -> tuple[str, dict[str, str]]:
    """Send `data` and read the answer's status line and headers (names in lower case)."""
    with socket.create_connection(("127.0.0.1", port), timeout=READ_TIMEOUT + 7) as conn:
        conn.sendall(data)
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = conn.recv(4096)
            assert chunk, f"closed before the headers ended: {received!r}"
            received += chunk
    status, *lines = received.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    fields = (line.split(":", 1) for line in lines)
    return status, {name.strip().lower(): value.strip() for name, value in fields}


def healthy(port: int) -> bool:
    return get(f"http://127.0.0.1:{port}/healthz") == (200, "ok\n")


def test_malformed_requests_get_a_clean_4xx_or_a_timely_close_and_serve_keeps_answering(
    served: ServeProcess, port: int
) -> None:
    form = "Content-Type: application/x-www-form-urlencoded\r\n"
    head = f"POST /survey/1.99999.abc HTTP/1.1\r\nHost: 127.0.0.1\r\n{form}"
    cases = {
        "bad Content-Length": (head + "Content-Length: abc\r\n\r\nx=1", "400"),
        "negative Content-Length": (head + "Content-Length: -5\r\n\r\n", "400"),
        "two Content-Lengths": (
            head + "Content-Length: 3\r\nContent-Length: 4\r\n\r\nx=1",
            "400",
        ),
        "garbage request line": ("HELLO THERE\r\n\r\n", "400"),
        "huge body": (head + "Content-Length: 50000000\r\n\r\n" + "x" * 65536, "413"),
        "not a form": (
            "POST /survey/1.99999.abc HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: text/plain\r\nContent-Length: 3\r\n\r\nx=1",
            "400",
        ),
        "header line too long": (
            "GET /healthz HTTP/1.1\r\nX-Long: " + "a" * 20000 + "\r\n\r\n",
            "4",
        ),
    }
    for name, (request, code) in cases.items():
        status, took = raw(port, request.encode())
        assert re.match(rf"HTTP/1\.[01] {code}", status), (name, status)
        assert took < READ_TIMEOUT + 5, (name, took)
        assert healthy(port), name
    # A body promised and never sent (slowloris): 408 once the read timeout passes.
    status, took = raw(port, (head + "Content-Length: 100\r\n\r\nrating=5").encode())
    assert re.match(r"HTTP/1\.[01] 408", status), status
    assert READ_TIMEOUT - 1 <= took < READ_TIMEOUT + 5, took
    # Headers that never end: the connection is closed, nothing is held.
    status, took = raw(port, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 1")
    assert status == "" and took < READ_TIMEOUT + 5, (status, took)
    assert healthy(port)
    assert "Traceback" not in served.log()


def test_aiohttps_own_answers_carry_the_security_headers_too(
    served: ServeProcess, port: int
) -> None:
    """A request aiohttp's parser refuses is answered before any middleware runs; it and
    the router's 404 and 405 carry the same headers as a page."""
    host = "Host: 127.0.0.1\r\nConnection: close\r\n"
    cases = {
        "garbage request line": ("HELLO THERE\r\n\r\n", "400"),
        "bad Content-Length": (f"POST /survey/1.2.x HTTP/1.1\r\n{host}Content-Length: abc\r\n\r\n",
                               "400"),
        "space in a header name": (f"GET /healthz HTTP/1.1\r\n{host}Bad Name: 1\r\n\r\n", "400"),
        "no such path": (f"GET /wp-login.php HTTP/1.1\r\n{host}\r\n", "404"),
        "wrong method": (f"DELETE /healthz HTTP/1.1\r\n{host}\r\n", "405"),
    }  # fmt: skip
    for name, (request, code) in cases.items():
        status, headers = head_of(port, request.encode())
        assert re.match(rf"HTTP/1\.[01] {code} ", status), (name, status)
        csp = headers.get("content-security-policy", "")
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp, (name, headers)
        assert headers.get("x-content-type-options") == "nosniff", (name, headers)
        assert headers.get("x-frame-options") == "DENY", (name, headers)
        assert headers.get("referrer-policy") == "no-referrer", (name, headers)
        assert headers.get("cache-control") == "no-store", (name, headers)
        assert headers.get("server") == "ticketgate", (name, headers)  # not aiohttp's version
    assert healthy(port)


def test_security_headers_and_an_access_log_without_tokens(
    served: ServeProcess, gateway_config: GatewayConfig, sink: SmtpSink, port: int
) -> None:
    ref = str(open_ticket(gateway_config, recently(minutes=5), "Cabeçalhos"))
    ack = wait_for(lambda: next((m for m in sink.to("maria@alfa.edu.br")
                                 if ref in m.header("Subject")), None), 30)  # fmt: skip
    found = re.search(r"http://127\.0\.0\.1:\d+/ticket/(\S+)", ack.text)
    assert found, ack.text
    with urllib.request.urlopen(found.group(0), timeout=10) as response:
        headers, page = response.headers, response.read().decode()
    csp = headers["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([\w-]+)'", csp)
    assert nonce and f'<style nonce="{nonce.group(1)}">' in page
    for directive in ("default-src 'none'", "frame-ancestors 'none'", "form-action 'self'",
                      "base-uri 'none'"):  # fmt: skip
        assert directive in csp
    assert "unsafe-inline" not in csp and "<script" not in page
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cache-Control"] == "no-store" and headers["Server"] == "ticketgate"
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    token = found.group(1)
    wait_for(lambda: "path=/ticket/… status=200" in served.log(), 10, "the access log line")
    assert token not in served.log() and token.split(".")[-1] not in served.log()


def test_links_are_rate_limited_per_link_and_per_address(
    served: ServeProcess, port: int
) -> None:
    origin = f"http://127.0.0.1:{port}"
    one = f"{origin}/ticket/1.99999.forged"
    assert [get(one)[0] for _ in range(6)] == [404] * 5 + [429]  # rate_per_link = 5
    others = [get(f"{origin}/ticket/{n}.99999.forged")[0] for n in range(2, 40)]
    assert others.count(429) >= 1 and set(others) <= {404, 429}  # rate_per_address = 40
    assert get(f"{origin}/healthz")[0] == 200  # operators' endpoints are not limited
