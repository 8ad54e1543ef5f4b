"""One poller per mailbox among instances sharing a store, also after a lease is lost.

Two `ImapRunner`s in this process stand for two `serve` instances: each takes
its leases through connections (or lock files) of its own, so they exclude
each other as two processes would, and they poll a real Dovecot. Losing a
lease while alive needs its database connection to break, which happens on
PostgreSQL (`pg_terminate_backend` here; a restarted server or a network blip
in production). On SQLite the lease is an flock the kernel keeps until the
process dies, and only one `serve` may use an SQLite store anyway, so there is
no real way to lose it: that test runs on PostgreSQL only. Standing by, taking
over and stopping while standing by run on both stores.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from gateway.runtime.imap_runner import ImapRunner
from storage.db import make_engine
from storage.leases import Lease, lease_key
from tests.support.dovecot import Dovecot, one_by_one, poller_settings
from tests.support.mailfiles import header, simple_mail
from tests.support.waiting import wait_for

ON_POSTGRES = os.environ.get("TICKETGATE_TEST_DB") == "postgresql"


def instance(
    name: str, db_url: str, data_dir: Path, server: Dovecot, delivered: list[tuple[str, str]]
) -> ImapRunner:
    """A `serve`'s pollers: leases named by `application_name` on PostgreSQL, so a test
    can tell from pg_locks which instance holds one."""
    url = f"{db_url}?application_name={name}" if db_url.startswith("postgresql") else db_url
    engine = make_engine(url)

    def deliver(raw: bytes) -> str:
        delivered.append((name, header(raw, "Subject") or ""))
        return "created"

    def lease(job: str) -> Lease:
        return Lease(engine, job, data_dir)

    return ImapRunner([poller_settings(server)], one_by_one(deliver), lease, retry_seconds=0.1)


def stop_all(*runners: ImapRunner) -> None:
    for runner in runners:
        if all(t.ident is not None for t in runner.threads):  # started
            runner.stop(5)


def imap_sessions(server: Dovecot) -> int:
    """How many IMAP connections the user has open, as `doveadm who` lists them."""
    lines = server.doveadm("who").splitlines()[1:]
    return sum(int(line.split()[1]) for line in lines if line.strip())


def break_lease_of(admin: Engine, job: str, victim: str) -> Callable[[], str | None]:
    """Each call ends the victim's lease connection if it holds `job`'s advisory lock; returns
    the application_name of whoever holds the lock."""
    key = lease_key(job) & 0xFFFFFFFFFFFFFFFF  # pg_locks splits the bigint into two oids
    holder = text(
        "SELECT a.pid, a.application_name FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
        "AND l.classid::bigint = :hi AND l.objid::bigint = :lo "
        "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    )

    def step() -> str | None:
        with admin.connect() as connection:
            row = connection.execute(holder, {"hi": key >> 32, "lo": key & 0xFFFFFFFF}).first()
            if row is not None and row.application_name == victim:
                connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": row.pid})
                return None
        return None if row is None else str(row.application_name)

    return step


@pytest.mark.skipif(not ON_POSTGRES, reason="only a PostgreSQL lease can be lost while alive")
def test_a_poller_whose_lease_connection_breaks_stands_by_and_the_other_polls(
    db_url: str, tmp_path: Path, dovecot: Dovecot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    delivered: list[tuple[str, str]] = []
    a = instance("instance-a", db_url, tmp_path, dovecot, delivered)
    b = instance("instance-b", db_url, tmp_path, dovecot, delivered)
    label = a.labels[0]
    admin = make_engine(db_url)
    try:
        a.start()
        wait_for(lambda: a.states[label] == "polling", 20, "A to take the lease")
        b.start()
        wait_for(lambda: b.states[label] == "standing by", 20, "B to stand by")
        dovecot.append("INBOX", simple_mail("maria@alfa.edu.br", "antes", "Primeira."))
        wait_for(lambda: dovecot.count("Processed") == 1, 20, "A to deliver the first mail")
        assert delivered == [("instance-a", "antes")]

        # A re-takes a lock that is still free when it notices, as it should; so end
        # its lease connection until B got in first.
        steal = break_lease_of(admin, f"imap:{label}", "instance-a")
        wait_for(lambda: steal() == "instance-b", 30, "B to hold the lease")
        wait_for(lambda: a.states[label] == "standing by", 20, "A to stand by")
        assert b.states[label] == "polling"
        assert f"lost the IMAP lease for {label}; standing by" in caplog.text
        wait_for(lambda: imap_sessions(dovecot) == 1, 20, "A to close its IMAP connection")

        dovecot.append("INBOX", simple_mail("maria@alfa.edu.br", "depois", "Segunda."))
        wait_for(lambda: dovecot.count("Processed") == 2, 20, "B to deliver the second mail")
        assert delivered == [("instance-a", "antes"), ("instance-b", "depois")]
        assert a.states[label] == "standing by"

        a.stop(5)  # SIGTERM while standing by after the loss
        assert not any(t.is_alive() for t in a.threads)
        assert a.states[label] == "stopped"
        assert b.states[label] == "polling"
    finally:
        stop_all(a, b)
        admin.dispose()


def test_an_instance_standing_by_takes_over_when_the_holder_lets_go_and_stops_at_once(
    db_url: str, tmp_path: Path, dovecot: Dovecot
) -> None:
    delivered: list[tuple[str, str]] = []
    a, b, c = (instance(n, db_url, tmp_path, dovecot, delivered) for n in ("a", "b", "c"))
    b.retry_seconds = 60.0  # longer than the test: only the stop event can end its wait
    label = a.labels[0]
    try:
        a.start()
        wait_for(lambda: a.states[label] == "polling", 20, "A to take the lease")
        b.start()
        wait_for(lambda: b.states[label] == "standing by", 20, "B to stand by")
        b.stop(5)
        assert not any(t.is_alive() for t in b.threads), "stop ends the stand-by wait"
        assert b.states[label] == "stopped"

        c.start()
        wait_for(lambda: c.states[label] == "standing by", 20, "C to stand by")
        a.stop(5)  # A lets go: C takes over
        wait_for(lambda: c.states[label] == "polling", 20, "C to take the lease")
        dovecot.append("INBOX", simple_mail("maria@alfa.edu.br", "depois", "Segunda."))
        wait_for(lambda: dovecot.count("Processed") == 1, 20, "C to deliver the mail")
        assert delivered == [("c", "depois")]
    finally:
        stop_all(a, b, c)
    assert c.states[label] == "stopped"
