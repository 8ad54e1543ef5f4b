"""Connecting, logging in and `ticketgate imap check`, between the settings and the poller in
`inbound/imap.py`; the only module that imports imapclient."""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from imapclient import DELETED, IMAPClient, SocketTimeout
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError, LoginError

from inbound.imap_settings import (
    CredentialUnavailable,
    ImapSetupError,
    MailboxSettings,
    OAuth2Token,
    Password,
)

# DELETED and the IMAPClient names are re-exported for the poller, so that
# imapclient is imported by this module only.
__all__ = [
    "DELETED",
    "CheckLine",
    "IMAPClient",
    "IMAPClientAbortError",
    "IMAPClientError",
    "check_mailbox",
    "connect",
]

log = logging.getLogger(__name__)

# SEARCH keys that select messages *without* a system flag (RFC 3501 section 6.4.4).
_UNFLAGGED_KEYS = {
    "\\seen": ["UNSEEN"],
    "\\flagged": ["UNFLAGGED"],
    "\\answered": ["UNANSWERED"],
    "\\draft": ["UNDRAFT"],
}


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
