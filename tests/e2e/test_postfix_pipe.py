"""Postfix in front, through a pipe: the support domain's MX runs `ticketgate ingest`.

Debian's Postfix runs on loopback with its own config and queue folder; its
transport map routes the support domain to deploy/postfix/master.cf's pipe(8)
service, run as an unprivileged user as pipe(8) demands. Mail submitted to
Postfix becomes tickets; while the store cannot be opened, or the pipe user
cannot read the signing secret, `ingest` exits 75 and Postfix keeps the mail
deferred, delivering it once that is fixed — nothing lost or bounced, nothing
doubled, and a redelivered copy is no second ticket.
"""

from __future__ import annotations

import shutil
import smtplib
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy.engine import make_url

from tests.support.mailfiles import simple_mail
from tests.support.pipe_user import USER, PipeUserConfig, pipe_desk, pipe_service
from tests.support.postfix import PostfixInstance
from tests.support.sink import SmtpSink
from tests.support.waiting import free_port, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture
def desk(db_url: str, sink: SmtpSink) -> Iterator[PipeUserConfig]:
    config = pipe_desk(db_url, sink.port)
    sink.locale = lambda: config.locale
    try:
        yield config
    finally:
        shutil.rmtree(config.folder.parent, ignore_errors=True)


@pytest.fixture
def postfix(desk: PipeUserConfig) -> Iterator[PostfixInstance]:
    mx = PostfixInstance(
        {"example.com": "ticketgate:"},
        services=pipe_service(desk),
        settings={"ticketgate_destination_recipient_limit": "1"},
    )
    mx.start()
    try:
        yield mx
    finally:
        mx.stop()


def mail(n: int, tag: str) -> bytes:
    return simple_mail(
        "Maria Souza <maria@alfa.edu.br>",
        f"{tag} {n}",
        f"Pedido {tag} número {n}.",
        message_id=f"<{tag}-{n}@alfa.edu.br>",
    )


def submit(mx: PostfixInstance, raw: bytes, sender: str = "maria@alfa.edu.br") -> None:
    """A customer's mail server hands one mail to the support domain's MX."""
    with smtplib.SMTP("127.0.0.1", mx.port, timeout=30) as client:
        client.sendmail(sender, ["suporte@example.com"], raw)


def subjects(config: PipeUserConfig) -> list[str]:
    return sorted(t["subject"] for t in config.cli_json("tickets", "list"))


def handed_over(mx: PostfixInstance) -> bool:
    """Postfix holds nothing: every pipe run exited 0, or the log says why not."""
    assert "status=bounced" not in mx.log(), mx.log()
    return not mx.queued()


def test_mail_piped_by_postfix_becomes_tickets_and_acks(
    desk: PipeUserConfig, postfix: PostfixInstance, sink: SmtpSink
) -> None:
    for n in range(3):
        submit(postfix, mail(n, "pipe"))
    # A notification sent with a null reverse path (MAIL FROM:<>) from an ordinary From:
    # null_sender= hands ingest the empty sender, so it is never answered.
    submit(postfix, mail(9, "notice"), sender="")
    wait_for(lambda: handed_over(postfix), 60, "Postfix to pipe everything to ingest")
    wanted = [f"pipe {n}" for n in range(3)]
    assert subjects(desk) == wanted

    # ingest only commits; the acks wait in the outbox for the worker (here: one flush).
    desk.cli("outbox", "flush")
    acks = sink.wait_for_count(3, 30, address="maria@alfa.edu.br")
    assert sorted(m.header("Subject").rsplit(": ", 1)[-1] for m in acks) == wanted
    assert len(acks) == 3  # and the agents' notices name no "notice 9" either
    assert not [m for m in sink.mails if "notice" in m.header("Subject")]


def break_store(desk: PipeUserConfig) -> Callable[[], None]:
    """Point the pipe's config at a store that cannot be opened; return the repair."""
    working = desk.storage_url
    if working.startswith("sqlite"):  # a folder the pipe user may not enter
        (desk.folder.parent / "root-only").mkdir(mode=0o700)
        desk.storage_url = f"sqlite:///{desk.folder.parent / 'root-only' / 'ticketgate.db'}"
    else:  # nothing listens there
        desk.storage_url = make_url(working).set(port=free_port()).render_as_string(False)
    desk.write()

    def repair() -> None:
        desk.storage_url = working
        desk.write()

    return repair


def hide_secret(desk: PipeUserConfig) -> Callable[[], None]:
    """The pipe user cannot read data_dir/secret (it gets no env file from pipe(8))."""
    secret = desk.folder / "data" / "secret"
    shutil.chown(secret, "root")
    return lambda: shutil.chown(secret, USER)


def break_directory(desk: PipeUserConfig) -> Callable[[], None]:
    """An admin's edit left directory.yaml unreadable: `serve` would refuse to start, so the
    pipe holds the mail too (exit 1 would bounce it)."""
    directory = desk.folder / "directory.yaml"
    working = directory.read_text()
    directory.write_text("organizations: [\n")
    return lambda: directory.write_text(working)


@pytest.mark.parametrize(
    ("breakage", "reason"),
    [
        (break_store, "the store cannot be opened"),
        (hide_secret, "a file it needs cannot be used"),
        (break_directory, "the configuration cannot be used"),
    ],
    ids=["store-down", "secret-unreadable", "directory-broken"],
)
def test_ingest_that_cannot_store_makes_postfix_defer_then_deliver_once(
    desk: PipeUserConfig,
    postfix: PostfixInstance,
    sink: SmtpSink,
    breakage: Callable[[PipeUserConfig], Callable[[], None]],
    reason: str,
) -> None:
    repair = breakage(desk)
    submit(postfix, mail(1, "down"))
    reasons = wait_for(postfix.deferred, 30, "a deferral after exit 75")
    assert "temporary failure" in reasons[0] and reason in reasons[0], reasons
    assert "status=bounced" not in postfix.log()

    repair()
    assert subjects(desk) == []
    postfix.flush()
    wait_for(lambda: handed_over(postfix), 60, "the deferred mail to be piped")
    assert subjects(desk) == ["down 1"]

    # The customer's server sends the same mail again (say it never saw our 250).
    submit(postfix, mail(1, "down"))
    wait_for(lambda: handed_over(postfix), 60, "the redelivered copy to be piped")
    assert subjects(desk) == ["down 1"]
    desk.cli("outbox", "flush")
    assert len(sink.to("maria@alfa.edu.br")) == 1  # one ack, not one per copy
