"""Start-up: the demo config on first run, and clear errors for broken files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.gateway_process import GatewayConfig, ServeProcess


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        k: v for k, v in os.environ.items() if k not in ("TICKETGATE_CONFIG", "TICKETGATE_SECRET")
    }
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_without_config_the_demo_is_written_under_var_and_used(tmp_path: Path) -> None:
    result = run(tmp_path, "tickets", "list", "--json")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
    var = tmp_path / "var"
    assert (var / "ticketgate.toml").is_file() and (var / "directory.yaml").is_file()
    assert (var / "ticketgate.db").is_file()
    assert oct((var / "secret").stat().st_mode & 0o777) == "0o600"
    mail = (
        "From: Maria Souza <maria@alfa.edu.br>\r\nTo: suporte@example.com\r\n"
        "Subject: Teste\r\nMessage-ID: <demo-1@alfa.edu.br>\r\n\r\nOlá\r\n"
    )
    ingest = subprocess.run(
        [sys.executable, "-m", "gateway", "ingest", "--json", "-"],
        cwd=tmp_path,
        input=mail,
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if k != "TICKETGATE_CONFIG"},
    )
    assert '"outcome": "created"' in ingest.stdout, ingest.stderr
    flush = run(tmp_path, "outbox", "flush")
    assert flush.returncode == 0 and "sent 2" in flush.stdout  # the ack and Ana's notification
    sent = [p.read_bytes() for p in (var / "sent").glob("*.eml")]
    assert len(sent) == 2
    assert all(b"[#TG-00001]" in mail for mail in sent)
    assert sum(b"To: Maria Souza <maria@alfa.edu.br>" in mail for mail in sent) == 1


def test_a_broken_config_stops_start_up_with_file_and_line(
    gateway_config: GatewayConfig,
) -> None:
    path = gateway_config.path
    path.write_text(path.read_text() + "\n[smtp]\nportt = 1\n")
    result = gateway_config.cli("serve", check=False)
    assert result.returncode == 2
    stderr = result.stderr.decode()
    assert f"{path}:" in stderr and "Fix the file" in stderr


def test_a_broken_directory_stops_serve_with_file_and_line(
    gateway_config: GatewayConfig,
) -> None:
    directory = gateway_config.folder / "directory.yaml"
    text = directory.read_text()
    line = text[: text.index("can_open_tickets: true")].count("\n") + 1
    directory.write_text(text.replace("can_open_tickets: true", "can_open: true", 1))
    result = gateway_config.cli("serve", check=False)
    assert result.returncode == 2
    assert f"{directory}:{line}:" in result.stderr.decode()
    assert "unknown key 'can_open'" in result.stderr.decode()


def test_a_missing_secret_says_how_to_provide_one(gateway_config: GatewayConfig) -> None:
    env = gateway_config.env()
    env.pop("TICKETGATE_SECRET")
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "--config", str(gateway_config.path), "ingest", "-"],
        input="",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    # 75 (EX_TEMPFAIL), as for a store that is down: an MTA pipe holds the mail, not bounces it.
    assert result.returncode == 75
    assert "set the environment variable TICKETGATE_SECRET" in result.stderr


def test_serve_without_a_secret_creates_one_once_and_says_so(
    gateway_config: GatewayConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new deployment (examples/) starts as it is; the key it made is kept for later runs."""
    bare = {
        k: v for k, v in os.environ.items() if k not in ("TICKETGATE_SECRET", "TICKETGATE_CONFIG")
    }
    monkeypatch.setattr(GatewayConfig, "env", lambda self: bare)
    key = gateway_config.folder / "data" / "secret"
    serve = ServeProcess(gateway_config).start()
    assert serve.stop() == 0
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    assert f"TICKETGATE_SECRET is not set: created {key}" in serve.log()
    made = key.read_bytes()
    ServeProcess(gateway_config).start().stop()
    assert key.read_bytes() == made


def test_a_broken_template_override_stops_serve_with_file_line_and_exit_2(
    gateway_config: GatewayConfig,
) -> None:
    """`serve` runs the check `rules check` runs on the admin's templates folder: a Jinja
    syntax error or a file it would never read stops start-up, at its file and line."""
    gateway_config.templates = {
        "pt_BR/acknowledgement.txt.j2": "Olá {{ requester_name }},\n\n{% if ticket.ref %}\n",
        "pt_BR/closed.text.j2": "Fechado.\n",
    }
    gateway_config.write()
    folder = gateway_config.folder / "templates" / "pt_BR"
    result = gateway_config.cli("serve", check=False)
    stderr = result.stderr.decode()
    assert result.returncode == 2, stderr
    assert f"{folder / 'acknowledgement.txt.j2'}:3:1: template syntax error" in stderr
    assert f"{folder / 'closed.text.j2'}:1:1: unknown template name 'closed.text.j2'" in stderr
    check = gateway_config.cli("rules", "check", check=False)
    assert check.returncode == 1
    checked = check.stderr.decode()
    assert f"{folder / 'acknowledgement.txt.j2'}:3:1: template syntax error" in checked
