"""A real SMTP server on loopback that keeps every mail the gateway relays.

Tests point the gateway's `[relay]` at it and assert on what arrived, the
way a real relay would see it: envelope plus the raw bytes.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage

from aiosmtpd.controller import Controller

from tests.support.waiting import free_port, wait_for

# Words that betray English in the gateway's pt_BR mail (issue 11): bookkeeping causes,
# status and environment ids shown raw, untranslated agent errors, a fixed signature.
ENGLISH = re.compile(
    r"\b(agent command|no answer|resolved|waiting_customer|waiting_third_party|production|"
    r"staging|priority|unknown (command|status|outcome|category|environment)|"
    r"not an agent|takes no value|is already past|Support Team|is not a date)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class SunkMail:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    def header(self, name: str) -> str:
        return str(self.message.get(name, ""))

    @property
    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        return part.get_content().replace("\r\n", "\n") if part is not None else ""

    @property
    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html",))
        return part.get_content() if part is not None else ""

    def english(self) -> list[str]:
        """The English words in this mail's subject, text and HTML (see ENGLISH)."""
        found = ENGLISH.finditer("\n".join((self.header("Subject"), self.text, self.html)))
        return sorted({match.group(0) for match in found})


@dataclass
class _Handler:
    mails: list[SunkMail] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    refuse_with: str | None = None
    delay: float = 0.0  # a slow relay: seconds before each answer

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.refuse_with:
            return self.refuse_with
        with self.lock:
            self.mails.append(
                SunkMail(envelope.mail_from, tuple(envelope.rcpt_tos), envelope.original_content)
            )
        return "250 OK"


class SmtpSink:
    def __init__(self) -> None:
        # The locale of the gateway relaying here (conftest's gateway_config ties it to
        # the config the test runs with): only pt_BR mail is checked for English words.
        self.locale: Callable[[], str] = lambda: "pt_BR"
        self.handler = _Handler()
        self.port = free_port()
        self.controller = Controller(
            self.handler, hostname="127.0.0.1", port=self.port, decode_data=False
        )

    def start(self) -> SmtpSink:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    @property
    def mails(self) -> list[SunkMail]:
        with self.handler.lock:
            return list(self.handler.mails)

    def to(self, address: str) -> list[SunkMail]:
        return [m for m in self.mails if address.lower() in (r.lower() for r in m.rcpt_tos)]

    def wait_for_count(
        self, n: int, timeout: float = 20.0, address: str | None = None
    ) -> list[SunkMail]:
        def enough() -> list[SunkMail] | None:
            found = self.to(address) if address else self.mails
            return found if len(found) >= n else None

        return wait_for(
            enough, timeout, f"{n} mail(s) at the sink" + (f" for {address}" if address else "")
        )
