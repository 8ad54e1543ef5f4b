"""The IMAP poller against a real Dovecot, with a delivery callback standing in for the intake.

The callback is a plain function per message (made the poller's group
delivery by `one_by_one`), so these tests can make delivery fail, stall or
report the store down, and check the poller's side of the contract: mark
only after delivery, error folder after `max_attempts`, COPY + UID EXPUNGE
without MOVE, flags, batches, reconnects.
The whole gateway over IMAP is tested in tests/e2e/test_imap.py.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import pytest

from inbound.imap import (
    DeliverLater,
    MailboxPoller,
    MailboxSettings,
    Password,
    check_mailbox,
)
from tests.support.dovecot import BASE_CAPABILITIES, Dovecot, one_by_one, poller_settings
from tests.support.mailfiles import header, simple_mail
from tests.support.waiting import wait_for


class Running:
    """A poller in a thread, as `serve` runs it; stopped and joined on exit."""

    def __init__(self, settings: MailboxSettings, deliver: Callable[[bytes], str]) -> None:
        self.stop = threading.Event()
        self.passes = 0
        self.poller = MailboxPoller(settings, one_by_one(deliver), self.stop, on_pass=self._count)
        self.thread = threading.Thread(target=self.poller.run, daemon=True)

    def _count(self) -> None:
        self.passes += 1

    def __enter__(self) -> Running:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(10)
        assert not self.thread.is_alive(), "the poller did not stop"


def mails(n: int, prefix: str = "pedido") -> list[bytes]:
    return [simple_mail("maria@alfa.edu.br", f"{prefix} {i}", f"texto {i}") for i in range(n)]


def subjects(server: Dovecot, folder: str) -> list[str]:
    return sorted(header(raw, "Subject") or "" for raw, _ in server.messages(folder))


def test_moves_each_message_only_after_delivery_and_follows_idle(dovecot: Dovecot) -> None:
    delivered: list[str] = []
    still_in_inbox: list[bool] = []

    def deliver(raw: bytes) -> str:
        # While we are "committing", the message must still be in INBOX.
        mid = header(raw, "Message-ID")
        still_in_inbox.append(
            mid in {header(r, "Message-ID") for r, _ in dovecot.messages("INBOX")}
        )
        delivered.append(header(raw, "Subject") or "")
        return "created"

    dovecot.append("INBOX", *mails(3))
    with Running(poller_settings(dovecot), deliver):
        wait_for(lambda: dovecot.count("Processed") == 3, 20, "3 messages in Processed")
        dovecot.append("INBOX", *mails(1, "depois"))  # arrives while the poller IDLEs
        wait_for(lambda: dovecot.count("Processed") == 4, 20, "IDLE to pick up the new one")
    assert sorted(delivered) == ["depois 0", "pedido 0", "pedido 1", "pedido 2"]
    assert all(still_in_inbox)
    assert dovecot.count("INBOX") == 0
    # BODY.PEEK[]: the poller does not mark mail read for the humans sharing the box.
    assert all(b"\\Seen" not in flags for _, flags in dovecot.messages("Processed"))


def test_without_move_or_idle_it_copies_expunges_and_polls() -> None:
    server = Dovecot(capabilities=BASE_CAPABILITIES).start()  # no MOVE, no IDLE
    try:
        server.create_folders("Processed", "Errors")
        with server.client() as client:
            assert b"MOVE" not in client.capabilities()
        server.append("INBOX", *mails(3))
        with Running(poller_settings(server), lambda raw: "created"):
            wait_for(lambda: server.count("Processed") == 3, 20, "3 messages in Processed")
            server.append("INBOX", *mails(2, "depois"))
            wait_for(lambda: server.count("Processed") == 5, 20, "polling to pick up 2 more")
        with server.client() as client:
            client.select_folder("INBOX", readonly=True)
            assert client.search(["ALL"]) == [], "UID EXPUNGE removed the originals"
        assert len(subjects(server, "Processed")) == 5
    finally:
        server.stop()


def test_flag_mode_leaves_mail_in_place_and_does_not_redeliver(dovecot: Dovecot) -> None:
    delivered: list[str] = []
    dovecot.append("INBOX", *mails(2))
    flagging = poller_settings(dovecot, mark_as="flag")
    with Running(flagging, lambda raw: delivered.append("x") or "") as running:
        wait_for(
            lambda: all(b"$Ticketgate" in f for _, f in dovecot.messages("INBOX")),
            20,
            "both messages flagged",
        )
        passes = running.passes
        dovecot.append("INBOX", *mails(1, "depois"))
        wait_for(lambda: len(delivered) == 3 and running.passes > passes, 20, "the third")
    assert len(delivered) == 3, "flagged mail is not delivered again"
    assert dovecot.count("INBOX") == 3
    assert dovecot.count("Processed") == 0


def imap_sessions(server: Dovecot) -> int:
    """How many IMAP connections the user has open, as `doveadm who` lists them."""
    lines = server.doveadm("who").splitlines()[1:]
    return sum(int(line.split()[1]) for line in lines if line.strip())


def test_when_may_poll_says_no_it_logs_out_and_returns(dovecot: Dovecot) -> None:
    allowed = threading.Event()
    allowed.set()
    delivered: list[str] = []
    asked: list[bool] = []

    def may_poll() -> bool:
        asked.append(allowed.is_set())
        return allowed.is_set()

    stop = threading.Event()
    poller = MailboxPoller(
        poller_settings(dovecot),
        one_by_one(lambda raw: delivered.append(header(raw, "Subject") or "") or "created"),
        stop,
        may_poll=may_poll,
    )
    thread = threading.Thread(target=poller.run, daemon=True)
    dovecot.append("INBOX", *mails(1))
    thread.start()
    try:
        wait_for(lambda: delivered == ["pedido 0"], 20, "the first message")
        wait_for(lambda: len(asked) >= 4, 20, "may_poll asked again while in IDLE")
        allowed.clear()
        thread.join(10)
        assert not thread.is_alive(), "run() returns once may_poll says no"
        assert not stop.is_set()
        wait_for(lambda: imap_sessions(dovecot) == 0, 10, "the poller to log out")
    finally:
        stop.set()
        thread.join(10)
    assert asked.count(False) == 1, "asked no more once it said no"


def test_a_message_that_keeps_failing_goes_to_the_error_folder(
    dovecot: Dovecot, caplog: pytest.LogCaptureFixture
) -> None:
    tries: dict[str, int] = {}

    def deliver(raw: bytes) -> str:
        subject = header(raw, "Subject") or ""
        tries[subject] = tries.get(subject, 0) + 1
        if subject == "pedido 1":
            raise ValueError("the pipeline choked on this one")
        return "created"

    dovecot.append("INBOX", *mails(3))
    with (
        caplog.at_level(logging.WARNING, "inbound.imap"),
        Running(poller_settings(dovecot, max_attempts=3), deliver),
    ):
        wait_for(lambda: dovecot.count("Errors") == 1, 20, "the bad message in Errors")
    assert subjects(dovecot, "Errors") == ["pedido 1"]
    assert subjects(dovecot, "Processed") == ["pedido 0", "pedido 2"]
    assert tries == {"pedido 0": 1, "pedido 1": 3, "pedido 2": 1}
    final = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(final) == 1
    assert "failed 3 times, moving it to 'Errors'" in final[0]
    assert "the pipeline choked on this one" in final[0]
    assert "move it back to 'INBOX'" in final[0]


def test_store_down_keeps_mail_on_the_server_and_backs_off(
    dovecot: Dovecot, caplog: pytest.LogCaptureFixture
) -> None:
    store_up = threading.Event()
    delivered: list[bytes] = []

    def deliver(raw: bytes) -> str:
        if not store_up.is_set():
            raise DeliverLater("database unavailable: connection refused")
        delivered.append(raw)
        return "created"

    dovecot.append("INBOX", *mails(2))
    with (
        caplog.at_level(logging.WARNING, "inbound.imap"),
        Running(poller_settings(dovecot, max_attempts=1), deliver),
    ):
        wait_for(
            lambda: sum("reconnecting in" in r.getMessage() for r in caplog.records) >= 3,
            20,
            "three backoffs",
        )
        assert dovecot.count("INBOX") == 2 and dovecot.count("Errors") == 0
        store_up.set()
        wait_for(lambda: dovecot.count("Processed") == 2, 20, "delivery once the store is back")
    delays = [
        r.getMessage().split("reconnecting in ")[1].split("s ")[0]
        for r in caplog.records
        if "reconnecting in" in r.getMessage()
    ]
    assert delays[:3] == ["0.1", "0.2", "0.4"], "exponential backoff"
    assert "could not store mail (database unavailable" in caplog.text


def test_backlog_is_fetched_in_bounded_groups_with_progress(
    dovecot: Dovecot, caplog: pytest.LogCaptureFixture
) -> None:
    dovecot.append("INBOX", *mails(25))
    seen: list[str] = []
    with (
        caplog.at_level(logging.INFO, "inbound.imap"),
        Running(
            poller_settings(dovecot, batch_size=10, fetch_bytes=1000),
            lambda raw: seen.append(header(raw, "Subject") or "") or "created",
        ),
    ):
        wait_for(lambda: dovecot.count("Processed") == 25, 30, "the backlog drained")
    assert sorted(seen) == sorted(f"pedido {i}" for i in range(25))
    progress = [r.getMessage() for r in caplog.records if "processed (" in r.getMessage()]
    assert [p.split(": ")[1].split(" ")[0] for p in progress] == ["10/25", "20/25", "25/25"]
    assert "25 message(s) waiting; draining in batches of 10" in caplog.text


def test_check_reports_what_is_wrong(dovecot: Dovecot) -> None:
    def problems(**overrides: object) -> list[str]:
        found = check_mailbox(poller_settings(dovecot, **overrides))
        return [line.text for line in found if not line.ok]

    assert problems() == []
    assert (
        "login as suporte at 127.0.0.1 failed" in problems(credential=lambda: Password("wrong"))[0]
    )
    assert "certificate of 127.0.0.1" in problems(ca_file=None)[0]
    assert "TLS handshake" in problems(port=dovecot.port)[0]
    assert "cannot connect to 127.0.0.1" in problems(port=1)[0]
    missing = problems(done_folder="Feitos")
    assert missing and "done_folder 'Feitos' does not exist" in missing[0]
    starttls = check_mailbox(poller_settings(dovecot, port=dovecot.port, tls=False, starttls=True))
    assert all(line.ok for line in starttls)
    assert any("STARTTLS TLSv1" in line.text for line in starttls)
