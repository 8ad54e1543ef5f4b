"""Wiring for the IMAP pollers: one worker thread per `[[imap]]` mailbox inside `serve`.

`serve` builds an `ImapRunner` next to the SMTP listener and the outbox
worker. Each mailbox gets an `inbound.imap.MailboxPoller` in its own thread
(imapclient is synchronous; the event loop never waits on it) whose delivery
callback is the same `Intake.receive` SMTP uses, with channel "imap". This
module also turns an `ImapSection` into the poller's plain settings: where the
password or the XOAUTH2 token comes from, and paths relative to the config.
"""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from sqlalchemy.exc import InterfaceError, OperationalError

from gateway.config.sections import ImapSection
from gateway.config.settings import Settings
from gateway.intake.use_case import Intake
from inbound.imap import (
    Credential,
    CredentialUnavailable,
    DeliverGroup,
    DeliverLater,
    MailboxPoller,
    MailboxSettings,
    OAuth2Token,
    Password,
)
from storage.leases import Lease

log = logging.getLogger(__name__)

TOKEN_COMMAND_TIMEOUT = 60.0


def credential_source(section: ImapSection, base: Path) -> tuple[Callable[[], Credential], str]:
    """How to get the secret on each connection, and how to name it in error messages.

    Called again on every reconnect: OAuth2 access tokens expire within the hour,
    and an operator who fixes the environment or the token file should not have
    to restart anything.
    """
    if section.oauth2_token_command:
        command = section.oauth2_token_command

        def from_command() -> Credential:
            try:
                done = subprocess.run(
                    shlex.split(command),
                    capture_output=True,
                    timeout=TOKEN_COMMAND_TIMEOUT,
                    check=False,
                )
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise CredentialUnavailable(
                    f"oauth2_token_command `{command}` could not run: {exc}"
                ) from exc
            token = done.stdout.decode("utf-8", "replace").strip()
            if done.returncode != 0 or not token:
                said = done.stderr.decode("utf-8", "replace").strip()[:300]
                raise CredentialUnavailable(
                    f"oauth2_token_command `{command}` exited {done.returncode}"
                    + ("" if token else " without printing a token")
                    + (f": {said}" if said else "")
                    + "; run it by hand to see why"
                )
            return OAuth2Token(token)

        return from_command, f"the token printed by `{command}`"
    if section.oauth2_token_file:
        path = (base / section.oauth2_token_file).resolve()

        def from_file() -> Credential:
            try:
                token = path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise CredentialUnavailable(
                    f"cannot read oauth2_token_file {path}: {exc.strerror or exc}"
                ) from exc
            if not token:
                raise CredentialUnavailable(f"oauth2_token_file {path} is empty")
            return OAuth2Token(token)

        return from_file, f"the token in {path}"
    env = section.password_env

    def from_env() -> Credential:
        value = os.environ.get(env)
        if not value:
            raise CredentialUnavailable(
                f"the environment variable {env} (password_env) is not set; export the "
                f"password of {section.username} in it before starting ticketgate"
            )
        return Password(value)

    return from_env, f"the password in ${env}"


def mailbox_settings(section: ImapSection, base: Path) -> MailboxSettings:
    """The poller's view of one `[[imap]]` entry; relative paths resolved against `base`."""
    credential, hint = credential_source(section, base)
    return MailboxSettings(
        host=section.host,
        port=section.port,
        username=section.username,
        credential=credential,
        credential_hint=hint,
        tls=section.tls,
        starttls=section.starttls,
        ca_file=str((base / section.ca_file).resolve()) if section.ca_file else None,
        folder=section.folder,
        done_folder=section.done_folder,
        error_folder=section.error_folder,
        mark_as=section.mark_as,
        done_flag=section.done_flag,
        idle=section.idle,
        poll_seconds=section.poll_seconds,
        batch_size=section.batch_size,
        max_attempts=section.max_attempts,
    )


def all_mailboxes(settings: Settings) -> list[MailboxSettings]:
    base = settings.source.parent.resolve()
    return [mailbox_settings(section, base) for section in settings.file.imap]


def intake_delivery(intake: Intake) -> DeliverGroup:
    """The intake's group commit for the poller: a fetched group is stored, parsed and
    committed together. A store that is down means "later", not "bad mail"."""

    def later(exc: Exception) -> Exception:
        if isinstance(exc, OperationalError | InterfaceError):
            return DeliverLater(f"database unavailable: {exc.orig or exc}")
        if isinstance(exc, OSError):
            return DeliverLater(f"cannot write the raw message store: {exc}")
        return exc

    def deliver(raws: Sequence[bytes]) -> list[str | Exception]:
        results: list[str | Exception] = []
        for result in intake.receive_group(raws, None, "imap"):
            if isinstance(result, Exception):
                results.append(later(result))
            else:
                shown = f" {result.ticket}" if result.ticket else ""
                results.append(result.outcome.value + shown)
        # The poller stops at the first DeliverLater: what follows stays on the server.
        return results

    return deliver


LEASE_RETRY_SECONDS = 2.0


class ImapRunner:
    """The pollers of one `serve`: started together, stopped together on SIGTERM.

    Each mailbox is polled by one instance at a time: its poller first takes the
    mailbox's lease, and an instance that cannot stands by until the holder dies.
    The poller asks the lease again on every pass (`Lease.try_acquire` notices a
    broken database connection): one that lost it to another instance closes its
    IMAP connection and stands by again, so a network blip never leaves two pollers.
    """

    def __init__(
        self,
        mailboxes: Sequence[MailboxSettings],
        deliver: DeliverGroup,
        lease: Callable[[str], Lease] | None = None,
        retry_seconds: float = LEASE_RETRY_SECONDS,
    ):
        self.stop_event = threading.Event()
        self.retry_seconds = retry_seconds
        self.labels = [m.label for m in mailboxes]
        # Per label: "standing by", "polling" or "stopped"; for tests and the log.
        self.states = dict.fromkeys(self.labels, "starting")
        self.threads = []
        for n, mailbox in enumerate(mailboxes):
            held = lease(f"imap:{mailbox.label}") if lease else None
            may_poll = held.try_acquire if held else (lambda: True)
            poller = MailboxPoller(mailbox, deliver, self.stop_event, may_poll=may_poll)
            self.threads.append(
                threading.Thread(
                    target=self._poll, args=(poller, held), name=f"imap-{n}", daemon=True
                )
            )

    def start(self) -> None:
        # imapclient logs every closed connection at INFO; ours says what matters.
        logging.getLogger("imapclient").setLevel(logging.WARNING)
        for thread, label in zip(self.threads, self.labels, strict=True):
            log.info("IMAP poller for %s starting", label)
            thread.start()

    def _poll(self, poller: MailboxPoller, lease: Lease | None) -> None:
        label = poller.settings.label
        lost = False
        try:
            while self._stand_by(lease, label, quiet=lost):
                self.states[label] = "polling"
                poller.run()  # until stop, or the lease is gone
                if self.stop_event.is_set():
                    break
                log.warning("lost the IMAP lease for %s; standing by", label)
                lost = True
        finally:
            self.states[label] = "stopped"
            if lease is not None:
                lease.release()

    def _stand_by(self, lease: Lease | None, label: str, quiet: bool) -> bool:
        """Wait until this instance holds `lease`; False if told to stop meanwhile."""
        said = quiet
        while lease is not None and not lease.try_acquire():
            self.states[label] = "standing by"
            if not said:
                log.info("IMAP mailbox %s is polled by another instance; standing by", label)
                said = True
            if self.stop_event.wait(self.retry_seconds):
                return False
        return not self.stop_event.is_set()

    def stop(self, timeout: float = 30.0) -> None:
        """Ask every poller to stop after its current message, and wait for them.

        Blocking; `serve` calls it through `asyncio.to_thread`.
        """
        self.stop_event.set()
        for thread, label in zip(self.threads, self.labels, strict=True):
            thread.join(timeout)
            if thread.is_alive():
                log.warning("IMAP poller for %s did not stop within %gs", label, timeout)
