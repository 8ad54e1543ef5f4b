"""A throwaway Dovecot IMAP server on loopback, the way a provider's mailbox looks.

Uses Debian's `dovecot-imapd` (installed by `scripts/test.sh`; this module
installs nothing). Each instance gets its own temp folder with a config, a
self-signed certificate made with `openssl`, a passwd-file of users and their
Maildirs; it listens on two free loopback ports, one plain (STARTTLS offered)
and one implicit TLS. `capabilities` replaces what Dovecot advertises after
login, so a test can take MOVE (RFC 6851) or IDLE (RFC 2177) away and see the
poller fall back to COPY + EXPUNGE or to polling.

As root (CI) the login and internal processes run as Debian's `dovenull` and
`dovecot` users and mail belongs to `nobody`; as an ordinary user everything
runs as that user.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from imapclient import IMAPClient

from inbound.imap import DeliverGroup, DeliverLater, MailboxSettings, Password
from tests.support.waiting import free_port, wait_for

DOVECOT = Path("/usr/sbin/dovecot")
DOVEADM = Path("/usr/bin/doveadm")

# What Dovecot 2.3 advertises after login, minus MOVE and IDLE; tests add back what they need.
BASE_CAPABILITIES = (
    "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE SORT THREAD=REFERENCES MULTIAPPEND "
    "UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE ESEARCH "
    "SEARCHRES LIST-STATUS BINARY LITERAL+"
)


@dataclass(frozen=True)
class ImapUser:
    name: str
    password: str


class Dovecot:
    """One Dovecot instance; `start()` it, talk to it with `client()`, `stop()` it."""

    def __init__(
        self,
        users: Sequence[ImapUser] = (ImapUser("suporte", "suporte-pw"),),
        capabilities: str | None = None,
    ) -> None:
        if not DOVECOT.exists():
            raise RuntimeError(
                "Dovecot not found; install Debian's 'dovecot-imapd' package "
                "(scripts/test.sh does this)"
            )
        self.users = tuple(users)
        self.capabilities = capabilities
        # Short path: Dovecot's unix sockets live under base_dir (108-byte limit).
        self.root = Path(tempfile.mkdtemp(prefix="tg-dc-"))
        self.port = free_port()
        self.tls_port = free_port()
        self.cert = self.root / "cert.pem"
        self.config = self.root / "dovecot.conf"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def user(self) -> ImapUser:
        return self.users[0]

    def _accounts(self) -> tuple[str, str, str, int, int]:
        """(internal user, its group, login user, mail uid, mail gid)."""
        if os.geteuid() == 0:
            mail = pwd.getpwnam("nobody")
            return "dovecot", "dovecot", "dovenull", mail.pw_uid, mail.pw_gid
        me = pwd.getpwuid(os.geteuid())
        return me.pw_name, grp.getgrgid(me.pw_gid).gr_name, me.pw_name, me.pw_uid, me.pw_gid

    def start(self) -> Dovecot:
        internal, internal_group, login, uid, gid = self._accounts()
        os.chmod(self.root, 0o755)
        subprocess.run(
            [
                "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                "-keyout", str(self.root / "key.pem"), "-out", str(self.cert),
            ],
            check=True,
            capture_output=True,
        )  # fmt: skip
        mail = self.root / "mail"
        mail.mkdir()
        (self.root / "users").write_text(
            "".join(f"{u.name}:{{PLAIN}}{u.password}::::::\n" for u in self.users)
        )
        for u in self.users:
            (mail / u.name).mkdir()
        for path in (mail, *mail.iterdir()):
            os.chown(path, uid, gid)
        capability = f"imap_capability = {self.capabilities}\n" if self.capabilities else ""
        self.config.write_text(
            f"""# written by tests/support/dovecot.py
instance_name = {self.root.name}
base_dir = {self.root}/run
state_dir = {self.root}/state
log_path = {self.root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{self.cert}
ssl_key = <{self.root}/key.pem
# Loopback tests log in with plaintext passwords, also outside TLS.
disable_plaintext_auth = no
auth_mechanisms = plain login xoauth2
# XOAUTH2 here checks the bearer token against the passwd-file like a password.
auth_failure_delay = 0
default_internal_user = {internal}
default_internal_group = {internal_group}
default_login_user = {login}
first_valid_uid = {uid}
mail_uid = {uid}
mail_gid = {gid}
mail_location = maildir:{mail}/%u
mailbox_list_index = no
{capability}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.root}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={mail}/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.tls_port}
    ssl = yes
  }}
  chroot =
}}
# No chroots: they need root, and loopback tests gain nothing from them.
service anvil {{
  chroot =
}}
"""
        )
        self.proc = subprocess.Popen(
            [str(DOVECOT), "-F", "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=open(self.root / "stderr.log", "wb"),  # noqa: SIM115
        )
        wait_for(self._listening, 30, "Dovecot to accept IMAP connections")
        return self

    def _listening(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"dovecot exited {self.proc.returncode}:\n{self.log()}")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                return sock.recv(100).startswith(b"* OK")
        except OSError:
            return False

    def log(self) -> str:
        parts = [self.root / "stderr.log", self.root / "dovecot.log"]
        return "".join(p.read_text(errors="replace") for p in parts if p.exists())

    def stop(self) -> None:
        try:
            if self.proc is not None and self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(20)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    # --- talking to it as a mail client or an admin would ------------------------------

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert))

    def client(self, user: ImapUser | None = None) -> IMAPClient:
        """A logged-in client over the plain port (tests append and read folders with it)."""
        user = user or self.user
        client = IMAPClient("127.0.0.1", self.port, ssl=False, timeout=30)
        client.login(user.name, user.password)
        return client

    def append(self, folder: str, *messages: bytes, user: ImapUser | None = None) -> None:
        with self.client(user) as client:
            for raw in messages:
                client.append(folder, raw)

    def create_folders(self, *names: str, user: ImapUser | None = None) -> None:
        with self.client(user) as client:
            for name in names:
                if not client.folder_exists(name):
                    client.create_folder(name)

    def count(self, folder: str, user: ImapUser | None = None) -> int:
        """Messages in `folder` not marked \\Deleted (STATUS would count those too)."""
        with self.client(user) as client:
            if not client.folder_exists(folder):
                return 0
            client.select_folder(folder, readonly=True)
            return len(client.search(["NOT", "DELETED"]))

    def messages(self, folder: str, user: ImapUser | None = None) -> list[tuple[bytes, tuple]]:
        """(raw, flags) of every message in `folder`, in UID order."""
        with self.client(user) as client:
            client.select_folder(folder, readonly=True)
            uids = client.search(["NOT", "DELETED"])
            fetched = client.fetch(uids, ["BODY.PEEK[]", "FLAGS"]) if uids else {}
            return [(fetched[u][b"BODY[]"], fetched[u][b"FLAGS"]) for u in sorted(fetched)]

    def doveadm(self, *args: str) -> str:
        result = subprocess.run(
            [str(DOVEADM), "-c", str(self.config), *args], capture_output=True, check=False
        )
        if result.returncode != 0:
            raise AssertionError(
                f"doveadm {' '.join(args)} exited {result.returncode}: {result.stderr.decode()}"
            )
        return result.stdout.decode()

    def kick(self, user: ImapUser | None = None) -> str:
        """Drop every IMAP connection of the user, as a provider's restart would."""
        return self.doveadm("kick", (user or self.user).name)

    def uid_validity(self, folder: str, user: ImapUser | None = None) -> int:
        with self.client(user) as client:
            return int(client.folder_status(folder, [b"UIDVALIDITY"])[b"UIDVALIDITY"])

    def set_uid_validity(self, folder: str, value: int, user: ImapUser | None = None) -> None:
        self.doveadm(
            "mailbox", "update", "-u", (user or self.user).name, "--uid-validity", str(value),
            folder,
        )  # fmt: skip


def poller_settings(server: Dovecot, **overrides: object) -> MailboxSettings:
    """A poller's settings for `server` (implicit TLS, its own CA), quick to poll and
    to retry, with any field overridden."""
    base = MailboxSettings(
        host="127.0.0.1",
        port=server.tls_port,
        username=server.user.name,
        credential=lambda: Password(server.user.password),
        ca_file=str(server.cert),
        poll_seconds=0.2,
        backoff_initial=0.1,
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


def one_by_one(deliver: Callable[[bytes], str]) -> DeliverGroup:
    """A poller's group delivery made of one call per message, for tests that watch each
    message (a failure or `DeliverLater` from one call becomes that message's result)."""

    def deliver_group(raws: Sequence[bytes]) -> list[str | Exception]:
        results: list[str | Exception] = []
        for raw in raws:
            try:
                results.append(deliver(raw))
            except DeliverLater as exc:
                results.append(exc)
                break
            except Exception as exc:
                results.append(exc)
        return results

    return deliver_group
