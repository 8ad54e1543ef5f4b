"""`ticketgate ingest` over every source kind, and `outbox flush` to a real relay."""

from __future__ import annotations

import fcntl
import json
import mailbox
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path

from sqlalchemy import create_engine

from tests.support.gateway_process import GatewayConfig
from tests.support.mailfiles import simple_mail
from tests.support.sink import SmtpSink
from tests.support.store_faults import accept_again, refuse_receipt_of
from tests.support.waiting import free_port

MARIA = "Maria Souza <maria@alfa.edu.br>"


def mbox_of(path: Path, n: int, tag: str) -> Path:
    """An mbox of `n` mails from Maria, subjects "lote N", Message-IDs <{tag}N@alfa.edu.br>."""
    box = mailbox.mbox(path, create=True)
    for i in range(n):
        box.add(simple_mail(MARIA, f"lote {i}", "z", message_id=f"<{tag}{i}@alfa.edu.br>"))
    box.flush()
    return path


def lines(result: subprocess.CompletedProcess[bytes]) -> list[dict[str, object]]:
    return [json.loads(line) for line in result.stdout.decode().splitlines()]


def test_ingest_eml_files_and_stdin_report_each_outcome(
    gateway_config: GatewayConfig, tmp_path: Path
) -> None:
    first = tmp_path / "first.eml"
    first.write_bytes(
        simple_mail(MARIA, "Impressora", "Não imprime.", message_id="<a1@alfa.edu.br>")
    )
    stranger = tmp_path / "stranger.eml"
    stranger.write_bytes(simple_mail("x@evil.example", "oi", "oi", message_id="<s1@evil.example>"))
    result = gateway_config.cli("ingest", "--json", str(first), str(stranger), str(first))
    assert lines(result) == [
        {"message_id": "<a1@alfa.edu.br>", "outcome": "created", "ticket": "TG-00001"},
        {"message_id": "<s1@evil.example>", "outcome": "rejected", "ticket": None},
        {"message_id": "<a1@alfa.edu.br>", "outcome": "duplicate", "ticket": "TG-00001"},
    ]
    assert b"ingested 3 message(s): 1 created, 1 duplicate, 1 rejected" in result.stderr

    reply = simple_mail(MARIA, "Re: [#TG-00001] Impressora", "Agora imprime.")
    result = gateway_config.cli("ingest", "--json", "-", input=reply)
    assert lines(result)[0]["outcome"] == "threaded"
    assert lines(result)[0]["ticket"] == "TG-00001"


def test_ingest_maildir_and_mbox(gateway_config: GatewayConfig, tmp_path: Path) -> None:
    maildir = mailbox.Maildir(tmp_path / "Maildir", create=True)
    for n in range(3):
        maildir.add(simple_mail(MARIA, f"maildir {n}", "x", message_id=f"<md{n}@alfa.edu.br>"))
    box = mailbox.mbox(tmp_path / "mail.mbox", create=True)
    for n in range(2):
        box.add(simple_mail(MARIA, f"mbox {n}", "y", message_id=f"<mb{n}@alfa.edu.br>"))
    box.flush()
    result = gateway_config.cli(
        "ingest", "--json", str(tmp_path / "Maildir"), str(tmp_path / "mail.mbox")
    )
    outcomes = lines(result)
    assert [o["outcome"] for o in outcomes] == ["created"] * 5
    assert {o["message_id"] for o in outcomes} == {
        "<md0@alfa.edu.br>",
        "<md1@alfa.edu.br>",
        "<md2@alfa.edu.br>",
        "<mb0@alfa.edu.br>",
        "<mb1@alfa.edu.br>",
    }


def test_a_message_the_store_refuses_exits_75_and_the_rest_of_its_batch_is_in(
    gateway_config: GatewayConfig, tmp_path: Path
) -> None:
    mbox = mbox_of(tmp_path / "mail.mbox", 5, "lt")
    gateway_config.cli("db", "upgrade")
    engine = create_engine(gateway_config.storage_url)
    refuse_receipt_of(engine, "<lt2@alfa.edu.br>")
    result = gateway_config.cli("ingest", "--json", str(mbox), check=False)
    assert result.returncode == 75, result.stderr
    assert b"not stored" in result.stderr and b"run ingest again" in result.stderr
    assert [line["message_id"] for line in lines(result)] == [
        f"<lt{n}@alfa.edu.br>" for n in (0, 1, 3, 4)
    ]

    accept_again(engine)  # the MTA (or the admin) runs it again: the one left becomes its ticket
    engine.dispose()
    result = gateway_config.cli("ingest", "--json", str(mbox))
    assert [line["outcome"] for line in lines(result)] == ["duplicate"] * 2 + ["created"] + [
        "duplicate"
    ] * 2
    assert len(gateway_config.cli_json("tickets", "list")) == 5


def test_ingest_refuses_unknown_paths_with_a_clear_message(gateway_config: GatewayConfig) -> None:
    result = gateway_config.cli("ingest", "/nonexistent/mail.eml", check=False)
    assert result.returncode != 0
    assert b"/nonexistent/mail.eml: no such file or folder" in result.stderr


def test_ingest_shows_a_progress_bar_on_a_terminal(
    gateway_config: GatewayConfig, tmp_path: Path
) -> None:
    mbox_of(tmp_path / "bulk.mbox", 25, "bulk")
    controller, terminal = pty.openpty()
    # A new pty is 0 columns wide; give it the size of a real terminal window.
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gateway",
            "--config",
            str(gateway_config.path),
            "ingest",
            "--json",
            str(tmp_path / "bulk.mbox"),
        ],
        stdout=subprocess.PIPE,
        stderr=terminal,
        env=gateway_config.env(),
    )
    os.close(terminal)
    stdout, _ = proc.communicate(timeout=120)
    screen = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:
            break
        if not chunk:
            break
        screen += chunk
    os.close(controller)
    assert proc.returncode == 0
    assert len(stdout.decode().splitlines()) == 25
    assert b"ingest: 100%" in screen and b"25/25" in screen


def test_outbox_flush_sends_queued_mail_and_reports_failures(
    gateway_config: GatewayConfig, sink: SmtpSink, tmp_path: Path
) -> None:
    mail = tmp_path / "m.eml"
    mail.write_bytes(simple_mail(MARIA, "Sem acesso", "Não consigo entrar."))
    gateway_config.cli("ingest", str(mail))
    assert sink.mails == []  # ingest only queues; nothing is sent inline
    result = gateway_config.cli("outbox", "flush")
    # The acknowledgement, and a notification to each of the queue's two agents.
    assert b"sent 3, retrying later 0, failed 0" in result.stdout
    [ack] = sink.to("maria@alfa.edu.br")
    assert ack.header("Subject").startswith("[#TG-00001] Recebemos sua solicitação")
    [notification] = sink.to("ana@example.com")
    assert notification.header("Subject").startswith("[#TG-00001] Novo chamado")
    assert gateway_config.cli("outbox", "flush").stdout.startswith(b"sent 0,")

    # With the relay down the mail stays queued for a later try, and the exit code says so.
    gateway_config.relay_port = free_port()
    gateway_config.write()
    other = tmp_path / "n.eml"
    other.write_bytes(simple_mail(MARIA, "Outro", "Outro pedido."))
    gateway_config.cli("ingest", str(other))
    result = gateway_config.cli("outbox", "flush", check=False)
    assert result.returncode == 1
    assert b"sent 0, retrying later 3, failed 0" in result.stdout
    assert b"cannot reach relay" in result.stderr


def test_a_malformed_or_unknown_ref_says_what_a_ref_looks_like(
    gateway_config: GatewayConfig,
) -> None:
    bad = gateway_config.cli("tickets", "show", "42", check=False)
    assert bad.returncode == 2
    assert b"'42' is not a ticket ref (they look like TG-00042)" in bad.stderr
    missing = gateway_config.cli("tickets", "show", "TG-00042", check=False)
    assert missing.returncode == 1 and b"no ticket TG-00042" in missing.stderr
