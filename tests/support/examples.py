"""Playing a shipped example deployment by mail (tests/examples/): its config with the
test's ports and database injected, and its people writing as real clients do."""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.agents import agent_sends, gmail_reply, outlook_reply
from tests.support.gateway_process import GatewayConfig, ServeProcess
from tests.support.mailfiles import new_message_id, simple_mail
from tests.support.sink import SmtpSink, SunkMail
from tests.support.waiting import free_port, wait_for


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)  # a TOML basic string


def dump_toml(doc: dict[str, Any]) -> str:
    """The config's tables back as TOML (flat tables and arrays of flat tables only)."""
    out: list[str] = []
    for name, table in doc.items():
        for item in table if isinstance(table, list) else [table]:
            out.append(f"[[{name}]]" if isinstance(table, list) else f"[{name}]")
            out += [f"{key} = {_toml_value(value)}" for key, value in item.items()]
            out.append("")
    return "\n".join(out)


def injected(folder: Path, storage_url: str, relay_port: int) -> GatewayConfig:
    """The example's ticketgate.toml with the test's database, ports and relay; the rest
    (support address, directory, rules, policy, templates) exactly as shipped."""
    path = folder / "ticketgate.toml"
    doc = tomllib.loads(path.read_text(encoding="utf-8"))
    config = GatewayConfig(folder=folder, storage_url=storage_url, relay_port=relay_port)
    doc["storage"] = {"url": storage_url}
    smtp = {"host": "127.0.0.1", "port": config.smtp_port, "workers": config.workers}
    doc["smtp"] = {**doc.get("smtp", {}), **smtp}  # one process, as GatewayConfig writes it
    doc["relay"] = {"host": "127.0.0.1", "port": relay_port}
    http = free_port()
    doc["http"] = {"host": "127.0.0.1", "port": http, "public_url": f"http://127.0.0.1:{http}"}
    path.write_text(dump_toml(doc), encoding="utf-8")
    return config


@dataclass
class Deployment:
    """One running example: its config (CLI), its `serve` and the sink its mail reaches."""

    config: GatewayConfig
    serve: ServeProcess
    sink: SmtpSink

    @property
    def settings(self) -> dict[str, Any]:
        return tomllib.loads(self.config.path.read_text(encoding="utf-8"))

    @property
    def support(self) -> str:
        return str(self.settings["gateway"]["support_addresses"][0])

    @property
    def agent_auth(self) -> str:
        """What the example's border MTA (its trusted authserv-id) writes for agents' mail."""
        mta = self.settings["gateway"]["trusted_authserv_ids"][0]
        domain = self.support.rpartition("@")[2]
        return (
            f"Authentication-Results: {mta}; dkim=pass header.d={domain};"
            f" dmarc=pass header.from={domain}\r\n"
        )

    def show(self, ref: str) -> Any:
        return self.config.cli_json("tickets", "show", ref)

    def customer_writes(
        self, sender: str, subject: str, body: str, *, extra: str = "", outcome: str = "created"
    ) -> tuple[str, str]:
        """A customer's new mail to the support address; returns the ref and its Message-ID."""
        address = _address(sender)
        mid = new_message_id(address.rpartition("@")[2])
        raw = simple_mail(sender, subject, body, to=self.support, message_id=mid, extra=extra)
        code, answer = self.serve.send(raw, address, self.support)
        assert code == 250 and outcome.encode() in answer, answer
        return (answer.decode().rsplit(" ", 1)[1] if outcome == "created" else ""), mid

    def customer_replies(
        self, sender: str, mail: SunkMail, body: str, *, outcome: str = "threaded"
    ) -> bytes:
        """The customer answers a mail the gateway sent them (Gmail: text on top, quote)."""
        quoted = "\r\n".join("> " + line for line in mail.text.splitlines())
        raw = simple_mail(
            sender,
            f"Re: {mail.header('Subject')}",
            f"{body}\r\n\r\nEm ter., 1 de dez. de 2026 às 10:20, Suporte escreveu:\r\n{quoted}",
            to=mail.header("Reply-To") or self.support,
            extra=(
                f"In-Reply-To: {mail.header('Message-ID')}\r\n"
                f"References: {mail.header('References')} {mail.header('Message-ID')}\r\n"
            ),
        )
        code, answer = self.serve.send(raw, _address(sender), mail.header("Reply-To"))
        assert code == 250 and outcome.encode() in answer, answer
        return answer

    def agent_replies(self, agent: str, mail: SunkMail, top: str, client: str = "outlook") -> None:
        """An agent answers a mail the gateway sent them, commands on top (Outlook or Gmail)."""
        build = outlook_reply if client == "outlook" else gmail_reply
        agent_sends(self.serve, build(mail, top, agent, self.agent_auth), _address(agent))

    def mail_to(self, address: str, subject_part: str, seen: int = 0) -> SunkMail:
        """The newest mail to `address` whose subject has `subject_part`, once there are more
        than `seen` of them."""

        def found() -> SunkMail | None:
            hits = self.mails_to(address, subject_part)
            return hits[-1] if len(hits) > seen else None

        return wait_for(found, 20, f"a mail to {address} with '{subject_part}'")

    def mails_to(self, address: str, subject_part: str = "") -> list[SunkMail]:
        return [m for m in self.sink.to(address) if subject_part in m.header("Subject")]

    def barrier(self, sender: str) -> None:
        """Once a fresh ack to `sender` arrives, all mail queued before it has gone out."""
        before = len(self.sink.to(_address(sender)))
        self.customer_writes(sender, f"barreira {new_message_id()}", "x")
        self.sink.wait_for_count(before + 1, address=_address(sender))

    def run_once(self, at: str) -> dict[str, int]:
        result = self.config.cli("scheduler", "run-once", "--now", at, "--json")
        return dict(json.loads(result.stdout)["fired"])

    def flush(self, at: str) -> None:
        self.config.cli("outbox", "flush", "--now", at)

    def timer(self, ref: str, kind: str) -> str:
        """The due instant (ISO) of the ticket's pending timer of that kind."""
        timers = self.config.cli_json("scheduler", "timers", ref)
        [due] = [t["due"] for t in timers if t["kind"] == kind and t["state"] == "pending"]
        return str(due)


def _address(person: str) -> str:
    found = re.search(r"<([^>]+)>", person)
    return (found.group(1) if found else person).strip().lower()
