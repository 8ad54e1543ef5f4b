"""Runs `ticketgate` as a real subprocess against a test config, as an operator would."""

from __future__ import annotations

import json
import os
import re
import signal
import smtplib
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.waiting import free_port, wait_for

SECRET = "test-secret-0123456789abcdef-not-for-production"

DIRECTORY = """\
queues:
  - {id: n1, name: "Suporte Nível 1", escalates_to: n2}
  - {id: n2, name: "Suporte Nível 2"}
agents:
  - {email: ana@example.com, name: Ana Ribeiro, queues: [n1]}
  - {email: carlos@example.com, name: Carlos Mendes, queues: [n1]}
  - {email: bruno@example.com, name: Bruno Costa, queues: [n2]}
organizations:
  - id: alfa
    name: Escola Alfa
    domains: [alfa.edu.br]
    rejection_note: "Para ser cadastrado, fale com a secretaria da Escola Alfa (ramal 2001)."
    contacts:
      - {email: maria@alfa.edu.br, name: Maria Souza, can_open_tickets: true}
      - {email: joao@alfa.edu.br, name: João Lima, can_open_tickets: false}
      - {email: pedro@alfa.edu.br, name: Pedro Alves, can_follow: true, can_reply: true}
  - id: beta
    name: Colégio Beta
    domains: [beta.com.br]
    contacts:
      - {email: carla@beta.com.br, name: Carla Dias, can_open_tickets: true}
  - id: gama
    name: Instituto Gama
    domains: [gama.org.br]
    domain_policy: open
"""


# For tests that play a bulk import or a burst from one customer (the same few
# addresses, hundreds of mails, often the same text): the per-sender, per-thread and
# per-recipient loop limits off; the global ones stay (issue 12).
BULK_LIMITS = """\
sender_mails = "off"
ticket_mails = "off"
loop_signals = "off"
sender_tickets = "off"
recipient_mails = "off"
"""
# For load tests (thousands of customers at once): every limit off, the global ones too.
NO_LIMITS = (
    BULK_LIMITS + 'global_tickets = "off"\nticket_auto_mails = "off"\nglobal_mails = "off"\n'
)


@dataclass
class GatewayConfig:
    """A config folder for one test: ticketgate.toml plus directory.yaml."""

    folder: Path
    storage_url: str
    relay_port: int
    smtp_port: int = field(default_factory=free_port)
    max_message_bytes: int = 2_000_000
    extra_gateway: str = ""
    # Lines of a [limits] table (loops and floods); empty keeps the defaults.
    limits: str = ""
    locale: str = "pt_BR"  # [gateway] locale: the language of every mail it writes
    # The admin's template overrides: a path under templates/ (pt_BR/x.txt.j2) -> its text.
    templates: dict[str, str] = field(default_factory=dict)
    # [smtp] workers: one process, as most tests want; None leaves it out (one per core).
    workers: int | None = 1

    def write(self) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "directory.yaml").write_text(DIRECTORY, encoding="utf-8")
        for name, text in self.templates.items():
            target = self.folder / "templates" / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        path = self.folder / "ticketgate.toml"
        path.write_text(
            f"""[gateway]
support_addresses = ["suporte@example.com"]
locale = "{self.locale}"
timezone = "America/Sao_Paulo"
data_dir = "data"
trusted_authserv_ids = ["mx.example.com"]
{self.extra_gateway}
[storage]
url = "{self.storage_url}"

[smtp]
host = "127.0.0.1"
port = {self.smtp_port}
max_message_bytes = {self.max_message_bytes}
{self._workers_line()}
[relay]
host = "127.0.0.1"
port = {self.relay_port}
"""
            + (f"\n[limits]\n{self.limits}\n" if self.limits else ""),
            encoding="utf-8",
        )
        return path

    def _workers_line(self) -> str:
        return "" if self.workers is None else f"workers = {self.workers}\n"

    @property
    def path(self) -> Path:
        return self.folder / "ticketgate.toml"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["TICKETGATE_SECRET"] = SECRET
        env.pop("TICKETGATE_CONFIG", None)
        return env

    def cli(
        self, *args: str, input: bytes | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[bytes]:
        """Run one `ticketgate` command against this config and return its result."""
        result = subprocess.run(
            [sys.executable, "-m", "gateway", "--config", str(self.path), *args],
            input=input,
            capture_output=True,
            env=self.env(),
            timeout=120,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"ticketgate {' '.join(args)} exited {result.returncode}:\n{result.stderr.decode()}"
            )
        return result

    def cli_json(self, *args: str) -> Any:
        return json.loads(self.cli(*args, "--json").stdout)


class ServeProcess:
    """`ticketgate serve` in a subprocess; started, waited for, stopped or killed."""

    def __init__(self, config: GatewayConfig) -> None:
        self.config = config
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = config.folder / "serve.log"

    def start(self) -> ServeProcess:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gateway", "--config", str(self.config.path), "serve"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.config.env(),
        )
        wait_for(self._listening, 60, "ticketgate serve to listen")
        return self

    def _listening(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"serve exited {self.proc.returncode}:\n{self.log()}")
        try:
            with socket.create_connection(("127.0.0.1", self.config.smtp_port), timeout=1):
                return True
        except OSError:
            return False

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()

    def send(self, raw: bytes, mail_from: str, rcpt_to: list[str] | str) -> tuple[int, bytes]:
        """Send one message over SMTP; returns the DATA reply code and text."""
        rcpts = [rcpt_to] if isinstance(rcpt_to, str) else rcpt_to
        with smtplib.SMTP("127.0.0.1", self.config.smtp_port, timeout=60) as client:
            client.ehlo("client.test")
            code, text = client.mail(mail_from)
            assert code == 250, (code, text)
            for rcpt in rcpts:
                code, text = client.rcpt(rcpt)
                if code != 250:
                    return code, text
            # SMTP carries CRLF lines (RFC 5321 section 2.3.8); fixtures on disk may use LF.
            return client.data(re.sub(rb"\r?\n", b"\r\n", raw))
