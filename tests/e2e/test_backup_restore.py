"""Backup and restore exactly as docs/deployment.md tells an operator to do it.

While `serve` runs: dump the database (pg_dump on PostgreSQL, SQLite's online
backup API — what `sqlite3 db ".backup f"` calls — on SQLite), then copy the
raw store. Restore both into a fresh database and data folder, start a new
`serve` on them, and the restored desk must carry on: tickets, messages and
attachments are there, a customer's reply threads into the restored ticket
and the next new ticket gets the next ref.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.support.gateway_process import GatewayConfig, ServeProcess
from tests.support.mailfiles import fixture, simple_mail
from tests.support.postgres import PostgresCluster

pytestmark = pytest.mark.e2e


def dump_and_restore(source_url: str, tmp: Path, postgres: PostgresCluster | None) -> str:
    """The database half: an online dump of `source_url` restored into a new database."""
    if postgres is None:
        source = source_url.removeprefix("sqlite:///")
        target = tmp / "restored.db"
        with sqlite3.connect(source) as live, sqlite3.connect(target) as copy:
            live.backup(copy)
        return f"sqlite:///{target}"
    dump = tmp / "ticketgate.dump"
    plain = source_url.replace("postgresql+psycopg://", "postgresql://")
    subprocess.run([str(postgres.bindir / "pg_dump"), "-Fc", "-f", str(dump), plain], check=True)
    restored = postgres.new_database()
    subprocess.run(
        [str(postgres.bindir / "pg_restore"), "--no-owner", "-d",
         restored.replace("postgresql+psycopg://", "postgresql://"), str(dump)],
        check=True,
    )  # fmt: skip
    return restored


def test_a_backup_taken_while_serving_restores_a_desk_that_carries_on(
    gateway_config: GatewayConfig, tmp_path: Path, postgres: PostgresCluster | None
) -> None:
    serve = ServeProcess(gateway_config).start()
    try:
        with_attachment = fixture("mime", "gmail_rfc2231_attachment.eml")
        code, answer = serve.send(with_attachment, "maria@alfa.edu.br", "suporte@example.com")
        assert code == 250 and b"created TG-00001" in answer, answer
        before = gateway_config.cli_json("tickets", "show", "TG-00001")
        attachments = before["messages"][0]["attachments"]
        assert attachments

        restore_dir = tmp_path / "restore"
        restore_dir.mkdir()
        url = dump_and_restore(gateway_config.storage_url, restore_dir, postgres)  # first
        shutil.copytree(gateway_config.folder / "data" / "blobs", restore_dir / "data" / "blobs")
    finally:
        serve.stop()

    restored = GatewayConfig(
        folder=tmp_path / "restored-gw", storage_url=url, relay_port=gateway_config.relay_port
    )
    restored.write()
    text = restored.path.read_text().replace(
        'data_dir = "data"', f'data_dir = "{restore_dir / "data"}"'
    )
    restored.path.write_text(text)
    assert os.path.exists(restore_dir / "data" / "blobs")

    after = restored.cli_json("tickets", "show", "TG-00001")
    assert after["subject"] == before["subject"]
    assert [m["message_id"] for m in after["messages"]] == [
        m["message_id"] for m in before["messages"]
    ]
    assert after["messages"][0]["attachments"] == attachments
    for attachment in attachments:  # the files themselves came back with the raw store
        sha = attachment["sha256"]
        blob = restore_dir / "data" / "blobs" / sha[:2] / sha[2:4] / sha
        assert blob.stat().st_size == attachment["size"]

    serve = ServeProcess(restored).start()
    try:
        reply = simple_mail(
            "Maria Souza <maria@alfa.edu.br>",
            f"Re: [#TG-00001] {before['subject']}",
            "Segue mais um detalhe.",
        )
        code, answer = serve.send(reply, "maria@alfa.edu.br", "suporte@example.com")
        assert code == 250 and b"threaded TG-00001" in answer, answer
        fresh = simple_mail("Maria Souza <maria@alfa.edu.br>", "Outro assunto", "Novo pedido.")
        code, answer = serve.send(fresh, "maria@alfa.edu.br", "suporte@example.com")
        assert code == 250 and b"created TG-00002" in answer, answer
    finally:
        serve.stop()
