"""The operator's commands: `db current|upgrade`, `doctor`, and JSON log lines.

Each runs the real CLI against a real store (SQLite or the suite's PostgreSQL)
and a real SMTP sink as the relay; the broken worlds are real too: a port
nobody listens on, a database server address that refuses connections.
"""

from __future__ import annotations

import json

from tests.support.gateway_process import GatewayConfig
from tests.support.sink import SmtpSink
from tests.support.waiting import free_port


def findings(stdout: bytes) -> list[dict[str, object]]:
    return [json.loads(line) for line in stdout.decode().splitlines() if line.strip()]


def test_db_current_says_behind_until_upgrade_then_current(gateway_config: GatewayConfig) -> None:
    before = gateway_config.cli("db", "current", "--json", check=False)
    assert before.returncode == 1
    state = json.loads(before.stdout)
    assert state["current"] is None and state["is_current"] is False
    upgrade = gateway_config.cli("db", "upgrade")
    assert f"to {state['head']}" in upgrade.stdout.decode()
    after = gateway_config.cli("db", "current", "--json")
    assert json.loads(after.stdout) == {
        "current": state["head"],
        "head": state["head"],
        "is_current": True,
    }
    again = gateway_config.cli("db", "upgrade")
    assert f"already at {state['head']}" in again.stdout.decode()


def test_doctor_passes_on_a_working_setup(gateway_config: GatewayConfig, sink: SmtpSink) -> None:
    gateway_config.cli("db", "upgrade")
    result = gateway_config.cli("doctor", "--json", check=False)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    lines = findings(result.stdout)
    assert {line["area"] for line in lines} >= {"files", "secret", "database", "relay", "smtp"}
    assert all(line["ok"] for line in lines)
    relay = next(line for line in lines if line["area"] == "relay")
    assert f"127.0.0.1:{sink.port}" in str(relay["text"])


def test_doctor_names_a_wrong_relay_port_and_what_to_do(gateway_config: GatewayConfig) -> None:
    text = gateway_config.path.read_text()
    port = free_port()  # nothing listens there
    gateway_config.path.write_text(
        text.replace(f"port = {gateway_config.relay_port}", f"port = {port}")
    )
    result = gateway_config.cli("doctor", check=False)
    assert result.returncode == 1
    out = result.stdout.decode()
    assert f"FAIL  relay: cannot reach the relay at 127.0.0.1:{port}" in out
    assert "fix [relay] host/port" in out
    assert "problem(s) to fix" in result.stderr.decode()


def test_doctor_names_a_database_that_is_down(gateway_config: GatewayConfig) -> None:
    text = gateway_config.path.read_text()
    down = f"postgresql+psycopg://ticketgate@127.0.0.1:{free_port()}/nowhere"
    gateway_config.path.write_text(text.replace(gateway_config.storage_url, down))
    result = gateway_config.cli("doctor", "--json", check=False)
    assert result.returncode == 1
    database = [line for line in findings(result.stdout) if line["area"] == "database"]
    assert len(database) == 1 and database[0]["ok"] is False
    assert "Is the server up and [storage] url" in str(database[0]["text"])


def test_doctor_reports_a_broken_file_with_file_and_line(gateway_config: GatewayConfig) -> None:
    directory = gateway_config.folder / "directory.yaml"
    text = directory.read_text()
    line = text[: text.index("can_open_tickets: true")].count("\n") + 1
    directory.write_text(text.replace("can_open_tickets: true", "can_open: true", 1))
    result = gateway_config.cli("doctor", check=False)
    assert result.returncode == 1
    assert f"FAIL  files: {directory}:{line}:" in result.stdout.decode()


def test_doctor_reports_a_broken_config_instead_of_crashing(
    gateway_config: GatewayConfig,
) -> None:
    path = gateway_config.path
    path.write_text(path.read_text() + "\n[smtp]\nportt = 1\n")
    result = gateway_config.cli("doctor", check=False)
    assert result.returncode == 1
    assert f"FAIL  config: invalid configuration:\n{path}:" in result.stdout.decode()


def test_json_logs_carry_the_message_id_and_ticket(gateway_config: GatewayConfig) -> None:
    path = gateway_config.path
    path.write_text(path.read_text() + '\n[logging]\nformat = "json"\n')
    mail = (
        "From: Maria Souza <maria@alfa.edu.br>\r\nTo: suporte@example.com\r\n"
        "Subject: Sistema fora do ar\r\nMessage-ID: <log-1@alfa.edu.br>\r\n"
        "Date: Tue, 01 Dec 2026 09:00:00 -0300\r\n\r\nO sistema caiu.\r\n"
    )
    result = gateway_config.cli("ingest", "-", input=mail.encode())
    records = [
        json.loads(line) for line in result.stderr.decode().splitlines() if line.startswith("{")
    ]
    created = [r for r in records if r.get("outcome") == "created"]
    assert len(created) == 1, result.stderr.decode()
    assert created[0]["message_id"] == "<log-1@alfa.edu.br>"
    assert created[0]["ticket"].startswith("TG-")
    assert created[0]["level"] == "info" and created[0]["channel"] == "ingest"


def test_ingest_as_an_mta_pipe_asks_for_a_retry_when_the_store_is_down(
    gateway_config: GatewayConfig,
) -> None:
    text = gateway_config.path.read_text()
    down = f"postgresql+psycopg://ticketgate@127.0.0.1:{free_port()}/nowhere"
    gateway_config.path.write_text(text.replace(gateway_config.storage_url, down))
    mail = b"From: maria@alfa.edu.br\r\nSubject: oi\r\nMessage-ID: <p-1@alfa.edu.br>\r\n\r\noi\r\n"
    result = gateway_config.cli(
        "ingest", "--sender", "maria@alfa.edu.br", "--recipient", "suporte@example.com", "-",
        input=mail, check=False,
    )  # fmt: skip
    assert result.returncode == 75  # EX_TEMPFAIL: Postfix's pipe(8) keeps the mail queued
    assert "the store cannot be opened" in result.stderr.decode()
    assert "Traceback" not in result.stderr.decode()
