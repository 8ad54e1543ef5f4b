"""IMAP end to end: `ticketgate serve` polling a real Dovecot, checked as an operator would.

Mail is appended to the mailbox over IMAP; tickets are read back with
`ticketgate tickets list --json` and the folders with an IMAP client. The
restart-safety cases are real: the gateway is SIGKILLed while it has
committed tickets whose messages it could not yet move, the provider drops
the connection in the middle of a backlog (`doveadm kick`), and the folder's
UIDVALIDITY changes under a running gateway (`doveadm mailbox update`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine

from tests.support.dovecot import Dovecot
from tests.support.gateway_process import BULK_LIMITS, GatewayConfig, ServeProcess
from tests.support.mailfiles import simple_mail
from tests.support.sink import SmtpSink
from tests.support.store_faults import accept_again, refuse_receipt_of
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e

PASSWORD_ENV = "TG_TEST_IMAP_PASSWORD"


@pytest.fixture
def dovecot(monkeypatch: pytest.MonkeyPatch) -> Iterator[Dovecot]:
    server = Dovecot().start()
    monkeypatch.setenv(PASSWORD_ENV, server.user.password)
    try:
        yield server
    finally:
        server.stop()


def add_mailbox(config: GatewayConfig, server: Dovecot, extra: str = "") -> None:
    """Append one [[imap]] entry for `server` (implicit TLS, its self-signed CA) to the config."""
    with config.path.open("a", encoding="utf-8") as toml:
        toml.write(
            f"""
[[imap]]
host = "127.0.0.1"
port = {server.tls_port}
tls = true
username = "{server.user.name}"
password_env = "{PASSWORD_ENV}"
ca_file = "{server.cert}"
folder = "INBOX"
done_folder = "Processed"
error_folder = "Errors"
{extra}
"""
        )


def customer_mail(n: int, prefix: str = "pedido") -> bytes:
    return simple_mail(
        "Maria Souza <maria@alfa.edu.br>",
        f"{prefix} {n:04d}",
        f"Pedido número {n}.",
        message_id=f"<{prefix}-{n:04d}@alfa.edu.br>",
    )


def imap_outcomes(serve: ServeProcess) -> list[str]:
    """The intake's one log line per IMAP message: `imap <id> from …: created TG-…`."""
    return re.findall(r" imap \S+ from \S+: (\w+)", serve.log())


def assert_one_ticket_per_subject(config: GatewayConfig, expected: list[str]) -> None:
    tickets = config.cli_json("tickets", "list")
    assert Counter(t["subject"] for t in tickets) == Counter(expected)


def test_mailbox_mail_becomes_tickets_and_is_moved_after_commit(
    gateway_config: GatewayConfig, dovecot: Dovecot, sink: SmtpSink
) -> None:
    dovecot.create_folders("Processed", "Errors")
    stranger = simple_mail("Zé <ze@desconhecido.com>", "quero suporte", "Oi.")
    dovecot.append("INBOX", customer_mail(1), customer_mail(2), stranger)
    add_mailbox(gateway_config, dovecot)
    serve = ServeProcess(gateway_config).start()
    try:
        wait_for(lambda: dovecot.count("Processed") == 3, 30, "3 messages in Processed")
        dovecot.append("INBOX", customer_mail(3))  # while the poller IDLEs
        wait_for(lambda: dovecot.count("Processed") == 4, 30, "the IDLE pick-up")
        sink.wait_for_count(3, address="maria@alfa.edu.br")
        sink.wait_for_count(1, address="ze@desconhecido.com")
    finally:
        serve.stop()
    assert dovecot.count("INBOX") == 0
    assert_one_ticket_per_subject(gateway_config, ["pedido 0001", "pedido 0002", "pedido 0003"])
    assert sorted(imap_outcomes(serve)) == ["created", "created", "created", "rejected"]
    assert "(TLS, IDLE)" in serve.log()


def test_flag_mode_over_starttls_with_a_token_command_and_polling(
    gateway_config: GatewayConfig, dovecot: Dovecot
) -> None:
    dovecot.create_folders("Errors")  # no done_folder needed when flagging
    dovecot.append("INBOX", customer_mail(1), customer_mail(2))
    add_mailbox(
        gateway_config,
        dovecot,
        extra='mark_as = "flag"\nidle = false\npoll_seconds = 0.2\n'
        'oauth2_token_command = "echo suporte-pw"\n',
    )
    text = gateway_config.path.read_text().replace(
        f"port = {dovecot.tls_port}\ntls = true",
        f"port = {dovecot.port}\ntls = false\nstarttls = true",
    )
    gateway_config.path.write_text(text)
    serve = ServeProcess(gateway_config).start()
    try:
        flagged = lambda: all(b"$Ticketgate" in f for _, f in dovecot.messages("INBOX"))  # noqa: E731
        wait_for(flagged, 30, "both messages flagged")
        dovecot.append("INBOX", customer_mail(3))
        wait_for(lambda: len(imap_outcomes(serve)) == 3 and flagged(), 30, "the third by polling")
    finally:
        serve.stop()
    assert "(STARTTLS, polling every 0.2s)" in serve.log()
    assert "method=XOAUTH2" in dovecot.log()
    assert dovecot.count("INBOX") == 3, "flag mode leaves the mail where it is"
    assert imap_outcomes(serve) == ["created"] * 3, "flagged mail is not taken again"
    assert_one_ticket_per_subject(gateway_config, ["pedido 0001", "pedido 0002", "pedido 0003"])


def test_killed_between_commit_and_move_makes_no_second_ticket(
    gateway_config: GatewayConfig, dovecot: Dovecot, sink: SmtpSink
) -> None:
    """The MOVE is made to fail (done folder deleted under the running gateway), so when
    the gateway is SIGKILLed its tickets are committed and their messages certainly
    still in INBOX: the window between commit and move, held open."""
    dovecot.create_folders("Processed", "Errors")
    add_mailbox(gateway_config, dovecot)
    serve = ServeProcess(gateway_config).start()
    wait_for(lambda: "(TLS, IDLE)" in serve.log(), 30, "the poller to watch INBOX")
    with dovecot.client() as client:
        client.delete_folder("Processed")
    dovecot.append("INBOX", *(customer_mail(n) for n in range(5)))
    wait_for(lambda: imap_outcomes(serve).count("created") == 5, 30, "5 tickets committed")
    wait_for(lambda: "the server refused a command" in serve.log(), 30, "the failed MOVE")
    serve.kill()
    assert dovecot.count("INBOX") == 5, "committed, not moved"
    assert len(gateway_config.cli_json("tickets", "list")) == 5

    dovecot.create_folders("Processed")
    serve = ServeProcess(gateway_config).start()
    try:
        wait_for(lambda: dovecot.count("Processed") == 5, 30, "all 5 moved after the restart")
        assert imap_outcomes(serve).count("duplicate") == 5
        # An ack the kill caught mid-send is taken again once its claim is stale (60 s).
        sink.wait_for_count(5, address="maria@alfa.edu.br", timeout=120)
    finally:
        serve.stop()
    assert dovecot.count("INBOX") == 0
    assert_one_ticket_per_subject(gateway_config, [f"pedido {n:04d}" for n in range(5)])
    acked = {m.header("X-Ticketgate-Ticket") for m in sink.to("maria@alfa.edu.br")}
    assert len(acked) == 5


def test_connection_dropped_mid_backlog_loses_and_doubles_nothing(
    gateway_config: GatewayConfig, dovecot: Dovecot
) -> None:
    total = 300
    gateway_config.limits = BULK_LIMITS  # a backlog of 300 from one customer is no loop here
    gateway_config.write()
    dovecot.create_folders("Processed", "Errors")
    dovecot.append("INBOX", *(customer_mail(n) for n in range(total)))
    add_mailbox(gateway_config, dovecot, extra="batch_size = 40\n")
    serve = ServeProcess(gateway_config).start()
    try:
        wait_for(lambda: len(imap_outcomes(serve)) >= 30, 60, "the drain to be under way")
        assert dovecot.user.name in dovecot.kick()
        assert dovecot.count("INBOX") > 0, "the kick landed after the drain finished"
        wait_for(lambda: dovecot.count("Processed") == total, 120, "the whole backlog moved")
    finally:
        serve.stop()
    log = serve.log()
    assert re.search(r"connection lost \(.*\); reconnecting in 1s \(attempt 1\)", log), log[-3000:]
    outcomes = Counter(imap_outcomes(serve))
    assert outcomes["created"] == total
    assert set(outcomes) <= {"created", "duplicate"}
    assert_one_ticket_per_subject(gateway_config, [f"pedido {n:04d}" for n in range(total)])
    assert re.search(rf"{total} message\(s\) waiting; draining in batches of 40", log)


def test_uidvalidity_change_rescans_without_a_second_ticket(
    gateway_config: GatewayConfig, dovecot: Dovecot
) -> None:
    dovecot.create_folders("Processed", "Errors")
    first = [customer_mail(n) for n in range(3)]
    dovecot.append("INBOX", *first)
    add_mailbox(gateway_config, dovecot)
    serve = ServeProcess(gateway_config).start()
    try:
        wait_for(lambda: dovecot.count("Processed") == 3, 30, "the first 3 processed")
        old = dovecot.uid_validity("INBOX")
        # The provider rebuilds INBOX from a backup: new numbering, old mail back in it.
        dovecot.set_uid_validity("INBOX", old + 1000)
        dovecot.append("INBOX", *first, customer_mail(3))
        wait_for(lambda: dovecot.count("Processed") == 7, 30, "restored and new mail moved")
    finally:
        serve.stop()
    assert f"UIDVALIDITY changed from {old} to {old + 1000}" in serve.log()
    assert Counter(imap_outcomes(serve)) == {"created": 4, "duplicate": 3}
    assert_one_ticket_per_subject(gateway_config, [f"pedido {n:04d}" for n in range(4)])


def test_imap_check_says_what_is_wrong_and_can_create_folders(
    gateway_config: GatewayConfig, dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_mailbox(gateway_config, dovecot)
    missing = gateway_config.cli("imap", "check", check=False)
    out = missing.stdout.decode()
    assert missing.returncode == 1, out
    assert "ok    TLS TLSv1" in out and "ok    logged in as suporte" in out
    assert "FAIL  done_folder 'Processed' does not exist" in out
    assert "--create-folders" in out

    created = gateway_config.cli("imap", "check", "--create-folders")
    assert "created done_folder 'Processed'" in created.stdout.decode()
    assert "created error_folder 'Errors'" in created.stdout.decode()
    assert gateway_config.cli("imap", "check").returncode == 0

    monkeypatch.setenv(PASSWORD_ENV, "wrong")
    wrong = gateway_config.cli("imap", "check", check=False)
    assert wrong.returncode == 1
    assert f"check the username and the password in ${PASSWORD_ENV}" in wrong.stdout.decode()

    monkeypatch.delenv(PASSWORD_ENV)
    unset = gateway_config.cli("imap", "check", check=False).stdout.decode()
    assert f"the environment variable {PASSWORD_ENV} (password_env) is not set" in unset


def test_mailbox_set_up_wrong_is_retried_with_a_clear_log_line(
    gateway_config: GatewayConfig, dovecot: Dovecot
) -> None:
    """`serve` keeps running with a broken mailbox, says what to fix, and recovers once fixed."""
    add_mailbox(gateway_config, dovecot)
    dovecot.append("INBOX", customer_mail(1))
    serve = ServeProcess(gateway_config).start()
    try:
        wait_for(
            lambda: re.search(
                r"done_folder 'Processed' does not exist .*; reconnecting in 1s \(attempt 1\)",
                serve.log(),
            ),
            30,
            "the missing-folder log line",
        )
        dovecot.create_folders("Processed", "Errors")
        wait_for(lambda: dovecot.count("Processed") == 1, 30, "the message once fixed")
    finally:
        serve.stop()
    assert_one_ticket_per_subject(gateway_config, ["pedido 0001"])


def test_serve_stops_promptly_with_pollers_running(
    gateway_config: GatewayConfig, dovecot: Dovecot
) -> None:
    dovecot.create_folders("Processed", "Errors")
    add_mailbox(gateway_config, dovecot)
    serve = ServeProcess(gateway_config).start()
    wait_for(lambda: "(TLS, IDLE)" in serve.log(), 30, "the poller to watch INBOX")
    assert serve.stop() == 0
    assert re.search(r"imap suporte@127\.0\.0\.1:\d+/INBOX: stopped", serve.log())


def test_a_fetched_group_commits_together_and_a_refused_message_costs_the_others_nothing(
    gateway_config: GatewayConfig, dovecot: Dovecot
) -> None:
    dovecot.create_folders("Processed", "Errors")
    add_mailbox(gateway_config, dovecot, "max_attempts = 2\npoll_seconds = 0.2\nidle = false")
    serve = ServeProcess(gateway_config).start()
    engine = create_engine(gateway_config.storage_url)
    try:
        refuse_receipt_of(engine, "<pedido-0002@alfa.edu.br>")
        dovecot.append("INBOX", *(customer_mail(n) for n in range(1, 5)))
        wait_for(lambda: dovecot.count("Errors") == 1, 30, "the refused one in Errors")
        assert dovecot.count("Processed") == 3
        # The four were one transaction; the store refused one, so each went in alone.
        assert "a batch of 4 message(s) could not be committed" in serve.log()
    finally:
        serve.stop()
        accept_again(engine)
        engine.dispose()
    assert_one_ticket_per_subject(gateway_config, ["pedido 0001", "pedido 0003", "pedido 0004"])
