"""`ticketgate purge`: raw mail and attachments of tickets closed more than N days ago
go (LGPD); a dry run lists them; a file a younger ticket still names stays."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gateway.domain import TicketRef, TicketStatus
from storage.blobs import BlobStore
from tests.support.gateway_process import GatewayConfig
from tests.support.mailfiles import new_message_id
from tests.support.timetravel import analyst, receive

JAN = datetime(2026, 1, 5, 13, 0, tzinfo=UTC)


def mail(subject: str, attachment: bytes) -> bytes:
    return (
        "From: Maria Souza <maria@alfa.edu.br>\r\nTo: suporte@example.com\r\n"
        f"Subject: {subject}\r\nMessage-ID: {new_message_id('alfa.edu.br')}\r\n"
        'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSegue o boleto.\r\n"
        '--b\r\nContent-Type: application/pdf; name="boleto.pdf"\r\n'
        'Content-Disposition: attachment; filename="boleto.pdf"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(attachment).decode().replace("\n", "\r\n")
        + "--b--\r\n"
    ).encode()


def opened(config: GatewayConfig, raw: bytes) -> TicketRef:
    receipt = receive(config, JAN, raw)
    assert receipt.ticket is not None, receipt
    return receipt.ticket


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_purge_deletes_only_files_of_tickets_closed_long_enough_ago(
    gateway_config: GatewayConfig,
) -> None:
    with gateway_config.path.open("a") as toml:
        toml.write("\n[retention]\nclosed_ticket_days = 30\n")
    own, shared, young = b"%PDF-1.4 old " * 50, b"%PDF-1.4 shared " * 50, b"%PDF-1.4 new " * 50
    old_raw, other_raw, young_raw = mail("antigo", own), mail("aberto", shared), mail("novo", young)
    old = opened(gateway_config, old_raw)
    old_too = opened(gateway_config, mail("antigo 2", shared))  # shares a file with `other`
    opened(gateway_config, other_raw)  # stays open
    recent = opened(gateway_config, young_raw)
    analyst(gateway_config, old, datetime(2026, 1, 10, tzinfo=UTC), status=TicketStatus.CLOSED)
    analyst(gateway_config, old_too, datetime(2026, 1, 10, tzinfo=UTC), status=TicketStatus.CLOSED)
    analyst(gateway_config, recent, datetime(2026, 3, 1, tzinfo=UTC), status=TicketStatus.CLOSED)
    blobs = BlobStore(gateway_config.folder / "data" / "blobs")
    now = "2026-03-15T12:00:00+00:00"

    dry = json.loads(gateway_config.cli("purge", "--dry-run", "--now", now, "--json").stdout)
    listed = {(f["ticket"], f["kind"], f["sha256"]) for f in dry["files"]}
    assert dry["dry_run"] is True and dry["closed_ticket_days"] == 30
    assert (str(old), "raw", sha(old_raw)) in listed
    assert (str(old), "attachment", sha(own)) in listed
    assert not any(s == sha(shared) for _, _, s in listed), "another open ticket names it"
    assert {t for t, _, _ in listed} == {str(old), str(old_too)}
    assert dry["bytes"] == sum(f["size"] for f in dry["files"]) > 0
    assert all(blobs.exists(s) for _, _, s in listed), "a dry run deletes nothing"

    done = json.loads(gateway_config.cli("purge", "--now", now, "--json").stdout)
    assert {(f["ticket"], f["kind"], f["sha256"]) for f in done["files"]} == listed
    assert not any(blobs.exists(s) for _, _, s in listed)
    assert blobs.exists(sha(shared)) and blobs.exists(sha(other_raw))
    assert blobs.exists(sha(young_raw)) and blobs.exists(sha(young))
    # The ticket and what was said stay on record.
    shown = gateway_config.cli_json("tickets", "show", str(old))
    assert shown["messages"][0]["body"].startswith("Segue o boleto")
    again = gateway_config.cli("purge", "--now", now)
    assert b"deleted 0 file(s)" in again.stdout


def test_purge_without_a_retention_setting_says_how_to_set_one(
    gateway_config: GatewayConfig,
) -> None:
    result = gateway_config.cli("purge", "--dry-run", check=False)
    assert result.returncode != 0
    assert b"closed_ticket_days" in result.stderr
    ok = gateway_config.cli("purge", "--dry-run", "--days", "0")
    assert b"would delete 0 file(s)" in ok.stdout


def test_purge_forgets_held_mail_settled_long_enough_ago_and_keeps_what_is_still_held(
    gateway_config: GatewayConfig, tmp_path: Path
) -> None:
    """Released and dropped mail leaves the quarantine with its raw bytes after the
    retention period (a released one's bytes stay while its ticket names them); a mail
    still held stays, waiting for an admin."""
    gateway_config.limits = 'sender_tickets = "1 per 1h"'
    gateway_config.write()
    with gateway_config.path.open("a") as toml:
        toml.write("\n[retention]\nclosed_ticket_days = 30\n")
    pdfs = [f"%PDF-1.4 pedido {n} ".encode() * 40 for n in range(4)]
    raws = [mail(f"Pedido {n}", pdf) for n, pdf in enumerate(pdfs)]
    for n, raw in enumerate(raws):
        (tmp_path / f"{n}.eml").write_bytes(raw)
    outcomes = [
        json.loads(line)["outcome"]
        for n in range(4)
        for line in gateway_config.cli("ingest", "--json", str(tmp_path / f"{n}.eml")).stdout
        .splitlines()
    ]  # fmt: skip
    assert outcomes == ["created", "quarantined", "quarantined", "quarantined"]
    held = {h["subject"]: h["id"] for h in gateway_config.cli_json("quarantine", "list")}
    released = gateway_config.cli_json("quarantine", "release", str(held["Pedido 1"]))
    assert released["outcome"] == "created"
    gateway_config.cli("quarantine", "drop", str(held["Pedido 2"]))
    blobs = BlobStore(gateway_config.folder / "data" / "blobs")
    assert all(blobs.exists(sha(raw)) for raw in raws)
    soon = (datetime.now(UTC) + timedelta(days=29)).isoformat()
    later = (datetime.now(UTC) + timedelta(days=31)).isoformat()

    early = json.loads(gateway_config.cli("purge", "--dry-run", "--now", soon, "--json").stdout)
    assert early["files"] == [] and early["held_mail"] == 0
    dry = json.loads(gateway_config.cli("purge", "--dry-run", "--now", later, "--json").stdout)
    assert [(f["ticket"], f["kind"], f["name"], f["sha256"]) for f in dry["files"]] == [
        (None, "held", f"#{held['Pedido 2']}", sha(raws[2])),
        (None, "attachment", f"#{held['Pedido 2']}", sha(pdfs[2])),
    ], "the released mail's bytes are its open ticket's message now"
    assert dry["held_mail"] == 2 and blobs.exists(sha(raws[2]))

    done = gateway_config.cli("purge", "--now", later).stdout.decode()
    assert "held      held" in done and f"#{held['Pedido 2']}" in done
    assert "deleted 2 file(s)" in done and "2 held mail(s)" in done
    assert not blobs.exists(sha(raws[2])) and not blobs.exists(sha(pdfs[2]))
    assert all(blobs.exists(sha(raws[n])) and blobs.exists(sha(pdfs[n])) for n in (0, 1, 3))
    left = gateway_config.cli_json("quarantine", "list", "--all")
    assert [(h["id"], h["state"]) for h in left] == [(held["Pedido 3"], "held")]
    shown = gateway_config.cli_json("quarantine", "show", str(held["Pedido 3"]))
    assert "Pedido 3" in shown["raw_preview"]  # still releasable, bytes and all
    again = gateway_config.cli("purge", "--now", later).stdout
    assert b"deleted 0 file(s)" in again and b"0 held mail(s)" in again


def test_a_released_mail_stores_its_attachments_again(
    gateway_config: GatewayConfig, tmp_path: Path
) -> None:
    """A file a held mail shares with a ticket may go with that ticket's retention while
    the mail waits; releasing the mail writes it back, so its new ticket lacks nothing."""
    gateway_config.limits = 'sender_tickets = "1 per 1h"'
    gateway_config.write()
    logo = b"%PDF-1.4 the same file in both " * 40
    for n in range(2):
        (tmp_path / f"{n}.eml").write_bytes(mail(f"Pedido {n}", logo))
        gateway_config.cli("ingest", str(tmp_path / f"{n}.eml"))
    [held] = gateway_config.cli_json("quarantine", "list")
    blobs = BlobStore(gateway_config.folder / "data" / "blobs")
    assert blobs.delete(sha(logo))  # as the first ticket's purge would
    released = gateway_config.cli_json("quarantine", "release", str(held["id"]))
    assert released["outcome"] == "created"
    assert blobs.get(sha(logo)) == logo
