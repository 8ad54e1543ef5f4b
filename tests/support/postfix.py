"""Debian's Postfix on loopback, in a config and queue folder of the test's own.

It plays the support team's MX: mail for the support domain goes to
`ticketgate serve` as an SMTP transport (transport(5)), or through a pipe(8)
service of `services` to `ticketgate ingest`; a gateway that is down, answers
4xx or exits 75 leaves the mail in Postfix's deferred queue until a flush.
`postfix -c DIR` runs an instance beside any system Postfix; it must start as
root (it drops to the `postfix` user), which `.ci/run` is.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.waiting import free_port, wait_for

POSTFIX = shutil.which("postfix") or "/usr/sbin/postfix"
POSTQUEUE = shutil.which("postqueue") or "/usr/sbin/postqueue"
MASTER_DIST = Path("/usr/share/postfix/master.cf.dist")


@dataclass
class PostfixInstance:
    """One private Postfix: its SMTP port, and a route per domain to a next hop."""

    routes: dict[str, str]  # domain -> transport(5) next hop, e.g. "smtp:[127.0.0.1]:2525"
    # Extra master.cf entries (a pipe(8) service, its continuation lines indented).
    services: list[str] = field(default_factory=list)
    # Extra main.cf parameters, e.g. {"ticketgate_destination_recipient_limit": "1"}.
    settings: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    # Unix sockets live under the queue: keep the path short (sun_path is 108 bytes).
    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="pf", dir="/tmp")))

    def start(self) -> PostfixInstance:
        assert Path(POSTFIX).exists(), "install Debian's postfix (scripts/test.sh does)"
        self.folder.chmod(0o755)  # mkdtemp's 0700 would keep the postfix user out
        for sub in ("queue", "data"):
            (self.folder / sub).mkdir(exist_ok=True)
        shutil.chown(self.folder / "data", "postfix")
        (self.folder / "main.cf").write_text(self._main_cf())
        (self.folder / "master.cf").write_text(self._master_cf())
        (self.folder / "transport").write_text(
            "".join(f"{domain} {hop}\n" for domain, hop in self.routes.items())
        )
        self._postfix("start")
        wait_for(self._listening, 30, "postfix to listen")
        return self

    def stop(self) -> None:
        self._postfix("stop", check=False)
        shutil.rmtree(self.folder, ignore_errors=True)

    def flush(self) -> None:
        """Try every deferred mail now (`postqueue -f`), as the retry timer would later."""
        subprocess.run([POSTQUEUE, "-c", str(self.folder), "-f"], check=True, timeout=30)

    def queued(self) -> list[dict[str, object]]:
        """The mail Postfix still holds, one record per message (`postqueue -j`)."""
        out = subprocess.run(
            [POSTQUEUE, "-c", str(self.folder), "-j"],
            check=True, capture_output=True, text=True, timeout=30,
        ).stdout  # fmt: skip
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def deferred(self) -> list[str]:
        """Why each held recipient was not delivered yet, once Postfix has tried it."""
        return [
            str(recipient.get("delay_reason", ""))
            for message in self.queued()
            if message.get("queue_name") == "deferred"
            for recipient in message["recipients"]  # type: ignore[attr-defined]
        ]

    def log(self) -> str:
        path = self.folder / "maillog"
        return path.read_text(errors="replace") if path.exists() else ""

    def _postfix(self, action: str, check: bool = True) -> None:
        result = subprocess.run(
            [POSTFIX, "-c", str(self.folder), action], capture_output=True, text=True, timeout=60
        )
        if check and result.returncode != 0:
            raise AssertionError(f"postfix {action} failed:\n{result.stderr}\n{self.log()}")

    def _listening(self) -> bool:
        import socket

        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def _main_cf(self) -> str:
        domains = ", ".join(self.routes)
        return f"""\
compatibility_level = 3.6
queue_directory = {self.folder}/queue
data_directory = {self.folder}/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.example.com
mydomain = example.com
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mydestination =
local_transport = error:no local delivery here
alias_maps =
alias_database =
relay_domains = {domains}
transport_maps = texthash:{self.folder}/transport
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
maillog_file_prefixes = /tmp
maillog_file = {self.folder}/maillog
smtp_dns_support_level = disabled
smtputf8_enable = no
# A test cannot wait out the default 5-minute retry; it flushes or retries in seconds.
minimal_backoff_time = 2s
maximal_backoff_time = 4s
queue_run_delay = 2s
""" + "".join(f"{name} = {value}\n" for name, value in self.settings.items())

    def _master_cf(self) -> str:
        lines = []
        for line in MASTER_DIST.read_text().splitlines():
            if line.startswith("smtp      inet"):
                line = f"127.0.0.1:{self.port} inet n - n - - smtpd"
            elif line.startswith("postlog"):
                continue
            lines.append(line)
        lines.append("postlog   unix-dgram n  -       n       -       1       postlogd")
        lines.extend(self.services)
        return "\n".join(lines) + "\n"
