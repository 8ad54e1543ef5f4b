"""Composing gateway mail: templates rendered into a threaded RFC 5322 message.

Called inside the use case's transaction (pure CPU, no I/O) so the composed
bytes are queued in the outbox together with the decision that caused them.
Jinja2 renders a plain-text body and an HTML alternative per locale; the HTML
environment escapes everything it interpolates. Every mail gets its own
Message-ID, threading headers, the `[#REF]` subject tag and, when written
by a machine, `Auto-Submitted: auto-replied` (RFC 3834 section 5).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr, make_msgid

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from gateway.domain import AttachmentPart, MailKind, OutgoingMail, TicketRef

LOCALES = ("pt_BR", "en")
# Templates rules may send, per action: reply_with renders with a ticket's context,
# reject with none (it must name no ticket).
RULE_TEMPLATES = {"reply_with": frozenset({"acknowledgement"}), "reject": frozenset({"rejection"})}


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


class Templates:
    """The packaged templates, one set per locale."""

    def __init__(self) -> None:
        self._env = Environment(
            loader=PackageLoader("outbound", "templates"),
            autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
            undefined=StrictUndefined,
            keep_trailing_newline=True,
        )

    def names(self, locale: str) -> set[str]:
        prefix = f"{locale}/"
        return {
            name.removeprefix(prefix).split(".")[0]
            for name in self._env.list_templates()
            if name.startswith(prefix)
        }

    def rule_templates(self, locale: str) -> dict[str, frozenset[str]]:
        """Per rule action, the templates it may send (that exist in this locale)."""
        names = self.names(locale)
        return {action: allowed & names for action, allowed in RULE_TEMPLATES.items()}

    def render(self, name: str, locale: str, context: Mapping[str, object]) -> Rendered:
        if locale not in LOCALES:
            raise ValueError(f"no templates for locale {locale!r}; use one of {LOCALES}")
        get = self._env.get_template
        return Rendered(
            subject=" ".join(get(f"{locale}/{name}.subject.j2").render(context).split()),
            text=get(f"{locale}/{name}.txt.j2").render(context),
            html=get(f"{locale}/{name}.html.j2").render(context),
        )


@dataclass(frozen=True)
class Addressing:
    """Who a mail is from and to, and which thread it continues."""

    from_address: str
    from_name: str
    to: Sequence[tuple[str, str]]
    cc: Sequence[tuple[str, str]] = ()
    reply_to: str | None = None
    in_reply_to: str | None = None
    references: Sequence[str] = ()
    ticket: TicketRef | None = None
    # The Auto-Submitted value (RFC 3834 section 5), or None for mail a person wrote.
    automatic: str | None = "auto-replied"
    attachments: Sequence[AttachmentPart] = ()


def compose(
    kind: MailKind, rendered: Rendered, addressing: Addressing, now: datetime
) -> OutgoingMail:
    domain = addressing.from_address.rpartition("@")[2]
    message_id = make_msgid(idstring="tg", domain=domain)
    msg = EmailMessage(policy=SMTP)
    msg["Message-ID"] = message_id
    msg["Date"] = format_datetime(now)
    msg["From"] = formataddr((addressing.from_name, addressing.from_address))
    msg["To"] = ", ".join(formataddr((name, address)) for name, address in addressing.to)
    if addressing.cc:
        msg["Cc"] = ", ".join(formataddr((name, address)) for name, address in addressing.cc)
    subject = rendered.subject
    if addressing.ticket is not None:
        subject = f"[#{addressing.ticket}] {subject}"
    msg["Subject"] = subject
    if addressing.reply_to:
        msg["Reply-To"] = addressing.reply_to
    if addressing.in_reply_to:
        msg["In-Reply-To"] = addressing.in_reply_to
    references = [*addressing.references]
    if addressing.in_reply_to and addressing.in_reply_to not in references:
        references.append(addressing.in_reply_to)
    if references:
        msg["References"] = " ".join(references[-20:])
    if addressing.automatic:
        msg["Auto-Submitted"] = addressing.automatic
        # Asks Exchange not to answer this mail with its own out-of-office replies.
        msg["X-Auto-Response-Suppress"] = "All"
    if addressing.ticket is not None:
        msg["X-Ticketgate-Ticket"] = str(addressing.ticket)
    msg.set_content(rendered.text, subtype="plain", charset="utf-8")
    msg.add_alternative(rendered.html, subtype="html", charset="utf-8")
    for part in addressing.attachments:
        maintype, _, subtype = part.content_type.partition("/")
        msg.add_attachment(
            part.content,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=part.filename,
        )
    return OutgoingMail(
        kind=kind,
        message_id=message_id,
        mail_from=addressing.from_address,
        recipients=tuple(address for _, address in (*addressing.to, *addressing.cc)),
        content=msg.as_bytes(),
        ticket=addressing.ticket,
    )
