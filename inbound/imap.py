"""The IMAP poller: the front door for support addresses that live in a provider's mailbox.

It sits where `inbound/smtp.py` sits for SMTP: it hands each fetched group
to a `deliver` callback (in `serve`, the intake's group commit, which commits
before it returns), and only then marks each message on the server: UID MOVE
to `done_folder` (RFC 6851), or COPY + \\Deleted + UID EXPUNGE (RFC 4315)
where MOVE is missing, or a flag. It is synchronous (imapclient is) and runs
in its own thread, started by `gateway/runtime/imap_runner.py`.

Connecting, login and `imap check` live in `inbound/imap_connection.py` (the only
imapclient module), settings and errors in `inbound/imap_settings.py`; re-exported here.

Why nothing is lost or doubled:
- No UID is remembered between sessions. Every pass selects the folder and
  searches for what is still there (or still unflagged), so a changed
  UIDVALIDITY (RFC 3501 section 2.3.1.1) or a dropped connection only makes
  the next pass see the same messages again.
- A message is marked only after `deliver` returned, i.e. after its commit.
  A crash between the two leaves it in the folder; the next pass delivers it
  again and the pipeline answers `duplicate`, which is then marked like any
  other outcome.
- A message whose delivery raises is tried `max_attempts` times and then
  moved to `error_folder` with the reason logged: never retried forever,
  never dropped. `DeliverLater` (the store is down) is not the message's
  fault and does not count.
- A backlog is drained in batches of `batch_size` UIDs, fetched in groups
  bounded by `fetch_bytes`; each group is delivered together (one
  transaction in `serve`, issue 13) and each message marked by its own
  outcome: memory stays bounded, and a message that fails costs the others
  a retry inside the intake, never a mark.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from inbound.imap_connection import (
    DELETED,
    CheckLine,
    IMAPClient,
    IMAPClientAbortError,
    IMAPClientError,
    _close,
    _missing_folder_error,
    _missing_folders,
    _pending_criteria,
    _server_text,
    check_mailbox,
    connect,
)
from inbound.imap_settings import (
    Credential,
    CredentialUnavailable,
    DeliverGroup,
    DeliverLater,
    ImapSetupError,
    MailboxSettings,
    OAuth2Token,
    Password,
)

__all__ = [
    "IDLE_RENEW_SECONDS",
    "STOP_CHECK_SECONDS",
    "CheckLine",
    "Credential",
    "CredentialUnavailable",
    "DeliverGroup",
    "DeliverLater",
    "ImapSetupError",
    "MailboxPoller",
    "MailboxSettings",
    "OAuth2Token",
    "Password",
    "check_mailbox",
    "connect",
]

log = logging.getLogger(__name__)

# RFC 2177 asks clients to re-issue IDLE at least every 29 minutes; NAT boxes
# often forget idle TCP flows sooner, so renew well before that.
IDLE_RENEW_SECONDS = 5 * 60.0
# How often a waiting poller looks at its stop event (bounds SIGTERM latency).
STOP_CHECK_SECONDS = 0.5
_MESSAGE_ID = re.compile(rb"^message-id:[ \t]*(<[^>\r\n]{1,200}>)", re.IGNORECASE | re.MULTILINE)


# --- the poller ----------------------------------------------------------------------


class MailboxPoller:
    """Delivers every message of one folder, marks it after the commit; run in a thread."""

    def __init__(
        self,
        settings: MailboxSettings,
        deliver: DeliverGroup,
        stop: threading.Event,
        on_pass: Callable[[], None] = lambda: None,
        may_poll: Callable[[], bool] = lambda: True,
    ) -> None:
        self.settings = settings
        self.deliver = deliver
        self.stop = stop
        self.on_pass = on_pass  # called after each completed pass; tests and metrics hook here
        # Asked once per pass, per batch and per poll_seconds of IDLE (never per message):
        # in `serve` it re-checks the mailbox's lease, a database round-trip.
        self.may_poll = may_poll
        self._revoked = False
        self._uid_validity: int | None = None
        self._attempts: dict[tuple[int, int], int] = {}
        self._caps: set[bytes] = set()
        self._failures = 0

    # The loop: connect, drain, wait (IDLE or poll), repeat; reconnect with backoff.

    def run(self) -> None:
        """Until `stop` is set or `may_poll` says no (the caller can tell which by `stop`).

        Never raises: every failure is logged and retried with backoff.
        """
        self._revoked = False
        while not self._halted() and self._still_allowed():
            reason = self._session()
            if reason is not None:
                self._backoff(reason)
        log.info("imap %s: stopped", self.settings.label)

    def _halted(self) -> bool:
        """Cheap enough for every message: stop, or a `may_poll` that already said no."""
        return self._revoked or self.stop.is_set()

    def _still_allowed(self) -> bool:
        """Ask `may_poll` (a lease check) again; once it says no, this run is over. A check
        that fails counts as a no: the caller stands by and asks again."""
        if not self._revoked:
            try:
                allowed = self.may_poll()
            except Exception:
                log.exception("imap %s: the lease check failed", self.settings.label)
                allowed = False
            self._revoked = not allowed
        return not self._revoked

    def _session(self) -> str | None:
        """One connection, until stop (None) or a failure (what went wrong, for the log)."""
        client: IMAPClient | None = None
        broken = False
        try:
            client = connect(self.settings)
            self._select(client)
            self._watch(client)
            return None
        except DeliverLater as exc:
            return f"could not store mail ({exc}); the messages stay on the server"
        except ImapSetupError as exc:
            return str(exc)
        except (IMAPClientAbortError, OSError) as exc:
            broken = True
            return f"connection lost ({_server_text(exc)})"
        except IMAPClientError as exc:
            return f"the server refused a command ({_server_text(exc)})"
        except Exception as exc:
            log.exception("imap %s: unexpected error", self.settings.label)
            return f"unexpected {type(exc).__name__}: {exc}"
        finally:
            if client is not None:
                _close(client, logout=not broken)

    def _backoff(self, reason: str) -> None:
        """Exponential: 1, 2, 4 … up to `backoff_max` seconds; reset by a completed pass."""
        if self._halted():
            return
        self._failures += 1
        s = self.settings
        delay = min(s.backoff_initial * 2 ** (self._failures - 1), s.backoff_max)
        log.warning(
            "imap %s: %s; reconnecting in %gs (attempt %d)", s.label, reason, delay, self._failures
        )
        self.stop.wait(delay)

    def _select(self, client: IMAPClient) -> None:
        missing = _missing_folders(client, self.settings)
        if missing:
            raise _missing_folder_error(self.settings, *missing[0])
        selected = client.select_folder(self.settings.folder)
        validity = int(selected[b"UIDVALIDITY"])
        if self._uid_validity is not None and validity != self._uid_validity:
            # UIDs of the old numbering mean nothing now (RFC 3501 section 2.3.1.1);
            # none are kept across sessions, so rescanning the folder is all it takes.
            log.warning(
                "imap %s: UIDVALIDITY changed from %d to %d (the folder was rebuilt or "
                "restored); rescanning it, already-ticketed mail will come out as duplicate",
                self.settings.label,
                self._uid_validity,
                validity,
            )
            self._attempts.clear()
        self._uid_validity = validity
        self._caps = set(client.capabilities())

    def _watch(self, client: IMAPClient) -> None:
        s = self.settings
        idle = s.idle and b"IDLE" in self._caps
        log.info(
            "imap %s: watching (%s, %s)",
            s.label,
            s.security(),
            "IDLE" if idle else f"polling every {s.poll_seconds:g}s",
        )
        while not self._halted() and self._still_allowed():
            retry_pending = self.drain(client)
            self._failures = 0
            self.on_pass()
            if self._halted():
                return
            if idle and not retry_pending:
                self._idle(client)
            else:
                self.stop.wait(s.poll_seconds)
                client.noop()

    def _idle(self, client: IMAPClient) -> None:
        """Wait in IDLE (RFC 2177) until the server reports a change, renewal is due or stop.

        `may_poll` is asked every `poll_seconds` meanwhile, as often as a polling poller would.
        """
        client.idle()
        try:
            renew_at = time.monotonic() + IDLE_RENEW_SECONDS
            ask_at = time.monotonic() + self.settings.poll_seconds
            while not self.stop.is_set() and time.monotonic() < renew_at:
                started = time.monotonic()
                if started >= ask_at:
                    if not self._still_allowed():
                        return
                    ask_at = started + self.settings.poll_seconds
                responses = client.idle_check(timeout=STOP_CHECK_SECONDS)
                if any(r[:1] == (b"BYE",) for r in responses):
                    raise IMAPClientAbortError(f"server said BYE: {responses}")
                if responses:
                    return
                if time.monotonic() - started < STOP_CHECK_SECONDS / 2:
                    # Readable yet nothing parsed: the peer closed. idle_done() will raise.
                    return
        finally:
            client.idle_done()

    # One pass over the folder.

    def drain(self, client: IMAPClient) -> bool:
        """Deliver and mark everything pending; True if some message awaits another attempt."""
        s = self.settings
        uids = sorted(client.search(_pending_criteria(s)))
        if not uids:
            return False
        total = len(uids)
        backlog = total > s.batch_size
        if backlog:
            log.info(
                "imap %s: %d message(s) waiting; draining in batches of %d",
                s.label,
                total,
                s.batch_size,
            )
        started = time.monotonic()
        retry_pending = False
        processed = 0
        for n, batch in enumerate(_chunks(uids, s.batch_size)):
            if self._halted() or (n > 0 and not self._still_allowed()):
                break
            sizes = client.fetch(batch, ["RFC822.SIZE"])
            present = [u for u in batch if u in sizes]  # others were expunged meanwhile
            for group in _groups(present, sizes, s.fetch_bytes):
                if self._halted():
                    break
                retry_pending |= self._deliver_group(client, group)
            processed += len(batch)
            if backlog:
                rate = processed / max(time.monotonic() - started, 1e-6)
                log.info("imap %s: %d/%d processed (%.0f msg/s)", s.label, processed, total, rate)
        return retry_pending

    def _deliver_group(self, client: IMAPClient, group: list[int]) -> bool:
        s = self.settings
        assert self._uid_validity is not None
        # BODY.PEEK[] leaves \Seen alone (RFC 3501 section 6.4.5): a human may read this box too.
        fetched = client.fetch(group, ["BODY.PEEK[]"])
        done: list[int] = []
        failed: list[int] = []
        retry_pending, later = False, None
        bodies = [(uid, fetched.get(uid, {}).get(b"BODY[]")) for uid in group]
        present = [(uid, raw) for uid, raw in bodies if raw is not None]
        try:
            results = self.deliver([raw for _, raw in present])
            for (uid, raw), result in zip(present, results, strict=False):
                if isinstance(result, DeliverLater):
                    later = result
                    break
                if isinstance(result, Exception):
                    retry_pending |= self._failed(uid, raw, result, failed)
                    continue
                self._attempts.pop((self._uid_validity, uid), None)
                done.append(uid)
        finally:
            # Whatever was committed is marked, even when a later message stops the group.
            del fetched
            self._mark_done(client, done)
            self._move(client, failed, s.error_folder)
        if later is not None:
            raise later
        return retry_pending

    def _failed(self, uid: int, raw: bytes, exc: Exception, failed: list[int]) -> bool:
        """Count a failed delivery; past `max_attempts` the UID joins `failed` (moved to the
        error folder). True while it is to be tried again."""
        s = self.settings
        assert self._uid_validity is not None
        key = (self._uid_validity, uid)
        self._attempts[key] = attempt = self._attempts.get(key, 0) + 1
        what = f"UID {uid} ({_message_id(raw)}, {len(raw)} bytes)"
        if attempt >= s.max_attempts:
            log.error(
                "imap %s: %s failed %d times, moving it to '%s': %s: %s. Fix the "
                "cause, then move it back to '%s' to try again",
                s.label, what, attempt, s.error_folder, type(exc).__name__, exc,
                s.folder, exc_info=exc,
            )  # fmt: skip
            failed.append(uid)
            del self._attempts[key]
            return False
        log.warning(
            "imap %s: %s failed (attempt %d of %d, trying again in %gs): %s: %s",
            s.label, what, attempt, s.max_attempts, s.poll_seconds,
            type(exc).__name__, exc, exc_info=exc,
        )  # fmt: skip
        return True

    def _mark_done(self, client: IMAPClient, uids: Sequence[int]) -> None:
        if not uids:
            return
        if self.settings.mark_as == "flag":
            client.add_flags(uids, [self.settings.done_flag], silent=True)
        else:
            self._move(client, uids, self.settings.done_folder)

    def _move(self, client: IMAPClient, uids: Sequence[int], folder: str) -> None:
        if not uids:
            return
        if b"MOVE" in self._caps:
            client.move(uids, folder)  # RFC 6851: atomic
            return
        # Without MOVE: COPY, then \Deleted, then expunge. A crash after COPY leaves a
        # copy in both folders; the next pass delivers it again as a duplicate.
        client.copy(uids, folder)
        client.add_flags(uids, [DELETED], silent=True)
        if b"UIDPLUS" in self._caps:
            client.uid_expunge(uids)  # RFC 4315 section 2.1: only these UIDs
        else:
            # RFC 3501 section 6.4.3: also expunges other \Deleted mail in this folder.
            client.expunge()


def _chunks(items: Sequence[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def _groups(
    uids: Sequence[int], sizes: dict[int, dict[bytes, Any]], budget: int
) -> Iterator[list[int]]:
    """Split a batch so one FETCH holds at most `budget` bytes (but always one message)."""
    group: list[int] = []
    held = 0
    for uid in uids:
        size = int(sizes[uid].get(b"RFC822.SIZE", 0))
        if group and held + size > budget:
            yield group
            group, held = [], 0
        group.append(uid)
        held += size
    if group:
        yield group


def _message_id(raw: bytes) -> str:
    head = raw[: raw.find(b"\r\n\r\n") if b"\r\n\r\n" in raw else 64 * 1024]
    found = _MESSAGE_ID.search(head)
    return found.group(1).decode("ascii", "replace") if found else "no Message-ID"
