"""The IMAP poller: the front door for support addresses that live in a provider's mailbox.

The only module that imports imapclient. It sits where `inbound/smtp.py`
sits for SMTP: it gets raw bytes in and hands each message to a `deliver`
callback (in `serve`, `Intake.receive` with channel "imap", which commits
before it returns), and only then marks the message on the server: UID MOVE
to `done_folder` (RFC 6851), or COPY + \\Deleted + UID EXPUNGE (RFC 4315)
where MOVE is missing, or a flag. It is synchronous on purpose (imapclient
is) and runs in its own thread, started by `gateway/imap_runner.py`.

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
  bounded by `fetch_bytes`, each message its own delivery: memory stays
  bounded and no transaction spans more than one message.
"""

from __future__ import annotations

import logging
import re
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from imapclient import DELETED, IMAPClient, SocketTimeout
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError, LoginError

log = logging.getLogger(__name__)

# RFC 2177 asks clients to re-issue IDLE at least every 29 minutes; NAT boxes
# often forget idle TCP flows sooner, so renew well before that.
IDLE_RENEW_SECONDS = 5 * 60.0
# How often a waiting poller looks at its stop event (bounds SIGTERM latency).
STOP_CHECK_SECONDS = 0.5
# SEARCH keys that select messages *without* a system flag (RFC 3501 section 6.4.4).
_UNFLAGGED_KEYS = {
    "\\seen": ["UNSEEN"],
    "\\flagged": ["UNFLAGGED"],
    "\\answered": ["UNANSWERED"],
    "\\draft": ["UNDRAFT"],
}
_MESSAGE_ID = re.compile(rb"^message-id:[ \t]*(<[^>\r\n]{1,200}>)", re.IGNORECASE | re.MULTILINE)


class ImapSetupError(Exception):
    """Connection, TLS, login or folders are wrong; the text says what to change."""


class CredentialUnavailable(Exception):
    """The password or OAuth2 token could not be obtained; the text says why."""


class DeliverLater(Exception):
    """Raised by `deliver` when the failure is not the message's fault (store down).

    The poller keeps the message on the server, backs off and reconnects; the
    attempt does not count towards `max_attempts`.
    """


@dataclass(frozen=True)
class Password:
    secret: str


@dataclass(frozen=True)
class OAuth2Token:
    """A bearer token for SASL XOAUTH2; fetched again on every connection (they expire)."""

    token: str


Credential = Password | OAuth2Token


@dataclass(frozen=True)
class MailboxSettings:
    """One mailbox to poll; built from `[[imap]]` by the gateway, plain values only."""

    host: str
    port: int
    username: str
    credential: Callable[[], Credential]
    # Where the credential comes from, for error messages ("the password in $IMAP_PASSWORD").
    credential_hint: str = "the password"
    tls: bool = True
    starttls: bool = False
    ca_file: str | None = None
    folder: str = "INBOX"
    done_folder: str = "Processed"
    error_folder: str = "Errors"
    mark_as: Literal["move", "flag"] = "move"
    done_flag: str = "$Ticketgate"
    idle: bool = True
    poll_seconds: float = 60.0
    batch_size: int = 100
    fetch_bytes: int = 8 * 1024 * 1024
    max_attempts: int = 3
    timeout: float = 60.0
    backoff_initial: float = 1.0
    backoff_max: float = 300.0

    @property
    def label(self) -> str:
        return f"{self.username}@{self.host}:{self.port}/{self.folder}"

    def security(self) -> str:
        return "TLS" if self.tls else "STARTTLS" if self.starttls else "no encryption"


Deliver = Callable[[bytes], str]
"""Commits one raw message and returns a short outcome for the log ("created TG-00042")."""


# --- connecting --------------------------------------------------------------------


def _ssl_context(settings: MailboxSettings) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cafile=settings.ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise ImapSetupError(
            f"cannot read ca_file {settings.ca_file}: {exc}; point ca_file at a PEM file "
            "with the CA certificate(s) that signed the server's certificate"
        ) from exc


def _tls_error(settings: MailboxSettings, exc: ssl.SSLError) -> ImapSetupError:
    where = f"{settings.host}:{settings.port}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return ImapSetupError(
            f"TLS certificate of {where} is not trusted ({exc.verify_message}); check the "
            "host name, or if the server uses a private CA set ca_file to that CA's PEM file"
        )
    hint = (
        "the port may not speak TLS from the first byte: for port 143 set tls = false "
        "and starttls = true"
        if settings.tls
        else "the server's TLS setup is broken or too old"
    )
    return ImapSetupError(f"TLS handshake with {where} failed ({exc.reason or exc}); {hint}")


def connect(
    settings: MailboxSettings, report: Callable[[str], None] = lambda line: None
) -> IMAPClient:
    """Connect, secure and log in; every failure becomes an `ImapSetupError` saying what to do.

    Never falls back to clear text: if STARTTLS is configured and the server
    does not offer it, the password is not sent.
    """
    where = f"{settings.host}:{settings.port}"
    context = _ssl_context(settings) if settings.tls or settings.starttls else None
    try:
        client = IMAPClient(
            settings.host,
            settings.port,
            ssl=settings.tls,
            ssl_context=context,
            timeout=SocketTimeout(connect=min(15.0, settings.timeout), read=settings.timeout),
        )
    except ssl.SSLError as exc:
        raise _tls_error(settings, exc) from exc
    except TimeoutError as exc:
        raise ImapSetupError(
            f"no IMAP greeting from {where} within {settings.timeout:.0f}s; check host and "
            "port, and if this is an IMAP-over-TLS port (993) set tls = true"
        ) from exc
    except OSError as exc:
        raise ImapSetupError(
            f"cannot connect to {where}: {exc.strerror or exc}; check host and port "
            "(993 is IMAP over TLS, 143 is IMAP with STARTTLS) and any firewall in between"
        ) from exc
    except IMAPClientError as exc:
        raise ImapSetupError(f"{where} did not greet like an IMAP server: {exc}") from exc
    try:
        report(f"connected to {where}")
        if settings.starttls:
            if b"STARTTLS" not in client.capabilities():
                raise ImapSetupError(
                    f"{where} does not offer STARTTLS, so the password would travel in clear "
                    "text; refusing to log in. Use the server's TLS port with tls = true"
                )
            try:
                client.starttls(context)
            except ssl.SSLError as exc:
                raise _tls_error(settings, exc) from exc
        if settings.tls or settings.starttls:
            sock = client.socket()
            version = sock.version() if isinstance(sock, ssl.SSLSocket) else "?"
            report(f"{settings.security()} {version}, certificate verified for {settings.host}")
        _login(client, settings)
        report(f"logged in as {settings.username}")
        return client
    except (IMAPClientAbortError, OSError) as exc:
        _close(client)
        raise ImapSetupError(
            f"{where} dropped the connection before login completed ({_server_text(exc)})"
        ) from exc
    except BaseException:
        _close(client)
        raise


def _login(client: IMAPClient, settings: MailboxSettings) -> None:
    try:
        credential = settings.credential()
    except CredentialUnavailable as exc:
        raise ImapSetupError(str(exc)) from exc
    try:
        match credential:
            case Password(secret):
                client.login(settings.username, secret)
            case OAuth2Token(token):
                client.oauth2_login(settings.username, token)
    except IMAPClientAbortError:
        raise  # the connection broke; not a verdict on the credentials
    except (LoginError, IMAPClientError) as exc:
        raise ImapSetupError(
            f"login as {settings.username} at {settings.host} failed ({_server_text(exc)}); "
            f"check the username and {settings.credential_hint}"
        ) from exc


def _server_text(exc: Exception) -> str:
    text = str(exc)
    for prefix in ("b'", 'b"'):
        text = text.replace(prefix, "")
    return text.strip("'\"[]") or type(exc).__name__


def _close(client: IMAPClient, logout: bool = True) -> None:
    """LOGOUT when the connection is healthy; on a broken one it would only wait for a timeout."""
    try:
        if not logout:
            raise ConnectionError("not logging out of a broken connection")
        client.logout()
    except Exception:
        try:
            client.shutdown()
        except Exception:
            log.debug("closing an IMAP connection that was already gone", exc_info=True)


def _missing_folders(client: IMAPClient, settings: MailboxSettings) -> list[tuple[str, str]]:
    wanted = [("folder", settings.folder), ("error_folder", settings.error_folder)]
    if settings.mark_as == "move":
        wanted.insert(1, ("done_folder", settings.done_folder))
    return [(role, name) for role, name in wanted if not client.folder_exists(name)]


def _missing_folder_error(settings: MailboxSettings, role: str, name: str) -> ImapSetupError:
    if role == "folder":
        fix = "fix folder in the [[imap]] entry (folder names are case-sensitive but INBOX)"
    else:
        fix = (
            f"create it in a mail client, run `ticketgate imap check --create-folders`, "
            f"or set {role} to an existing folder"
        )
    return ImapSetupError(
        f"{role} '{name}' does not exist in {settings.username}'s mailbox at {settings.host}; "
        + fix
    )


# --- `ticketgate imap check` ---------------------------------------------------------


@dataclass(frozen=True)
class CheckLine:
    ok: bool
    text: str
    warning: bool = False


def check_mailbox(settings: MailboxSettings, create_folders: bool = False) -> list[CheckLine]:
    """Try everything `serve` will need from this mailbox; one line per finding."""
    lines: list[CheckLine] = []
    if not settings.tls and not settings.starttls:
        lines.append(CheckLine(True, "no TLS: the password travels in clear text", warning=True))
    try:
        client = connect(settings, report=lambda text: lines.append(CheckLine(True, text)))
    except ImapSetupError as exc:
        return [*lines, CheckLine(False, str(exc))]
    try:
        caps = set(client.capabilities())
        lines.append(CheckLine(True, _capability_summary(caps, settings)))
        for role, name in _missing_folders(client, settings):
            if create_folders and role != "folder":
                client.create_folder(name)
                lines.append(CheckLine(True, f"created {role} '{name}'"))
            else:
                lines.append(CheckLine(False, str(_missing_folder_error(settings, role, name))))
        if client.folder_exists(settings.folder):
            selected = client.select_folder(settings.folder, readonly=True)
            waiting = len(client.search(_pending_criteria(settings)))
            lines.append(
                CheckLine(
                    True,
                    f"folder '{settings.folder}': {waiting} message(s) waiting, "
                    f"UIDVALIDITY {selected.get(b'UIDVALIDITY', '?')}",
                )
            )
            if settings.mark_as == "flag":
                lines.append(_flag_check(settings, selected))
    except (IMAPClientError, OSError) as exc:
        lines.append(CheckLine(False, f"the server failed a command: {_server_text(exc)}"))
    finally:
        _close(client)
    return lines


def _capability_summary(caps: set[bytes], settings: MailboxSettings) -> str:
    parts = []
    if settings.mark_as == "move" or settings.error_folder:
        parts.append("MOVE" if b"MOVE" in caps else "no MOVE (COPY + \\Deleted + EXPUNGE instead)")
        if b"MOVE" not in caps:
            parts.append("UIDPLUS" if b"UIDPLUS" in caps else "no UIDPLUS (plain EXPUNGE)")
    if settings.idle:
        parts.append(
            "IDLE" if b"IDLE" in caps else f"no IDLE (polling every {settings.poll_seconds:g}s)"
        )
    return "server offers " + ", ".join(parts)


def _flag_check(settings: MailboxSettings, selected: dict[bytes, Any]) -> CheckLine:
    permanent: Sequence[bytes] = selected.get(b"PERMANENTFLAGS") or ()
    names = {f.decode().lower() for f in permanent}
    flag = settings.done_flag.lower()
    if flag in names or (not flag.startswith("\\") and "\\*" in names):
        return CheckLine(True, f"done_flag {settings.done_flag} can be stored")
    return CheckLine(
        False,
        f"the server does not keep flag {settings.done_flag} in '{settings.folder}'; "
        'use mark_as = "move", or done_flag = "\\\\Seen"',
    )


def _pending_criteria(settings: MailboxSettings) -> list[str]:
    """Messages still to deliver: everything left in the folder, or everything unflagged."""
    # \Deleted ones are on their way out (a COPY fallback cut short, or a human's delete).
    criteria = ["NOT", "DELETED"]
    if settings.mark_as == "flag":
        flag = settings.done_flag
        criteria += _UNFLAGGED_KEYS.get(flag.lower(), ["UNKEYWORD", flag])
    return criteria


# --- the poller ----------------------------------------------------------------------


class MailboxPoller:
    """Delivers every message of one folder, marks it after the commit; run in a thread."""

    def __init__(
        self,
        settings: MailboxSettings,
        deliver: Deliver,
        stop: threading.Event,
        on_pass: Callable[[], None] = lambda: None,
    ) -> None:
        self.settings = settings
        self.deliver = deliver
        self.stop = stop
        self.on_pass = on_pass  # called after each completed pass; tests and metrics hook here
        self._uid_validity: int | None = None
        self._attempts: dict[tuple[int, int], int] = {}
        self._caps: set[bytes] = set()
        self._failures = 0

    # The loop: connect, drain, wait (IDLE or poll), repeat; reconnect with backoff.

    def run(self) -> None:
        """Until `stop` is set. Never raises: every failure is logged and retried with backoff."""
        while not self.stop.is_set():
            reason = self._session()
            if reason is not None:
                self._backoff(reason)
        log.info("imap %s: stopped", self.settings.label)

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
        if self.stop.is_set():
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
        while not self.stop.is_set():
            retry_pending = self.drain(client)
            self._failures = 0
            self.on_pass()
            if self.stop.is_set():
                return
            if idle and not retry_pending:
                self._idle(client)
            else:
                self.stop.wait(s.poll_seconds)
                client.noop()

    def _idle(self, client: IMAPClient) -> None:
        """Wait in IDLE (RFC 2177) until the server reports a change, renewal is due or stop."""
        client.idle()
        try:
            renew_at = time.monotonic() + IDLE_RENEW_SECONDS
            while not self.stop.is_set() and time.monotonic() < renew_at:
                started = time.monotonic()
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
        for batch in _chunks(uids, s.batch_size):
            if self.stop.is_set():
                break
            sizes = client.fetch(batch, ["RFC822.SIZE"])
            present = [u for u in batch if u in sizes]  # others were expunged meanwhile
            for group in _groups(present, sizes, s.fetch_bytes):
                if self.stop.is_set():
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
        retry_pending = False
        try:
            for uid in group:
                if self.stop.is_set():
                    break
                raw = fetched.get(uid, {}).get(b"BODY[]")
                if raw is None:
                    continue
                try:
                    self.deliver(raw)
                except DeliverLater:
                    raise
                except Exception as exc:
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
                    else:
                        log.warning(
                            "imap %s: %s failed (attempt %d of %d, trying again in %gs): %s: %s",
                            s.label, what, attempt, s.max_attempts, s.poll_seconds,
                            type(exc).__name__, exc, exc_info=exc,
                        )  # fmt: skip
                        retry_pending = True
                    continue
                self._attempts.pop((self._uid_validity, uid), None)
                done.append(uid)
        finally:
            # Whatever was committed is marked, even when a later message stops the group.
            del fetched
            self._mark_done(client, done)
            self._move(client, failed, s.error_folder)
        return retry_pending

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
