"""Composing gateway mail: templates rendered into a threaded RFC 5322 message.

Called inside the use case's transaction (pure CPU, no I/O) so the composed
bytes are queued in the outbox together with the decision that caused them.
Jinja2 renders a plain-text body and an HTML alternative per locale; the HTML
environment escapes everything it interpolates. Every mail gets its own
Message-ID, threading headers, the `[#REF]` subject tag and, when written
by a machine, `Auto-Submitted: auto-replied` (RFC 3834 section 5).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from html import escape
from pathlib import Path

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    StrictUndefined,
    TemplateNotFound,
    TemplateSyntaxError,
    select_autoescape,
)

from gateway.domain import AttachmentPart, MailKind, OutgoingMail, TicketRef
from outbound.message_bytes import (
    encoded,
    folded_ids,
    header_text,
    mailbox,
    mailboxes,
    message_bytes,
    message_ids,
)

_OUR_ID_END = ".tg"  # how the local part of every Message-ID we make ends

LOCALES = ("pt_BR", "en")
# Templates rules may send, per action: reply_with renders with a ticket's context,
# reject with none (it must name no ticket). A template only the admin's folder holds
# renders with the acknowledgement's context too, so reply_with may name it as well.
RULE_TEMPLATES = {"reply_with": frozenset({"acknowledgement"}), "reject": frozenset({"rejection"})}
PARTS = ("subject", "txt", "html")
NEEDED_PARTS = ("subject", "txt")  # an admin's own template may leave out the HTML part
# A file named so is a partial that templates include (`pt_BR/_footer.txt.j2`, the footer
# of the customer's mail), never a mail of its own; an admin's file of that name replaces it.
PARTIAL = "_"


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class TemplateProblem:
    """A mistake in an admin's template: the file, the line (1-based), what is wrong."""

    path: Path
    line: int
    message: str


class Templates:
    """The packaged templates, one set per locale, under the admin's overrides: a file of
    the same name in `overrides` (e.g. `pt_BR/acknowledgement.txt.j2`) is used instead,
    so the wording can change without a release. `brand` fills every template of a
    locale with the company's name and signature (the context may still override)."""

    def __init__(
        self,
        overrides: Path | None = None,
        brand: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        # Kept even while the folder is missing: one created later (a template added to a
        # running gateway) is read from then on.
        self._overrides = overrides
        loaders: list[BaseLoader] = [PackageLoader("outbound", "templates")]
        if self._overrides is not None:
            loaders.insert(0, FileSystemLoader(self._overrides))
        self._brand = brand or {}
        self._env = Environment(
            loader=ChoiceLoader(loaders),
            autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
            undefined=StrictUndefined,
            keep_trailing_newline=True,
        )

    def names(self, locale: str) -> set[str]:
        """The mail templates of `locale`; a partial (`_footer`) is only ever included."""
        prefix = f"{locale}/"
        return {
            name.removeprefix(prefix).split(".")[0]
            for name in self._env.list_templates()
            if name.startswith(prefix) and not name.startswith(f"{prefix}{PARTIAL}")
        }

    def own_names(self, locale: str) -> set[str]:
        """Templates only the admin's folder holds (not overrides of packaged ones)."""
        if self._overrides is None or not self._overrides.is_dir():
            return set()
        packaged = PackageLoader("outbound", "templates").list_templates()
        packaged_names = {n.removeprefix(f"{locale}/").split(".")[0] for n in packaged}
        found = {
            path.name.split(".")[0]
            for path in (self._overrides / locale).glob("*.j2")
            if not path.name.startswith(PARTIAL)
        }
        return found - packaged_names

    def rule_templates(self, locale: str) -> dict[str, frozenset[str]]:
        """Per rule action, the templates it may send (that exist in this locale): the
        packaged one, or one of the admin's own (a `reject` one gets the rejection's
        variables, e.g. seed 001's "only the direction's mailbox may ask for that")."""
        names, own = self.names(locale), self.own_names(locale)
        return {action: (allowed & names) | own for action, allowed in RULE_TEMPLATES.items()}

    def problems(self) -> list[TemplateProblem]:
        """What is wrong in the admin's folder: Jinja syntax errors at their line, and an
        own template without the subject or text part it needs to be sent."""
        if self._overrides is None or not self._overrides.is_dir():
            return []
        found: list[TemplateProblem] = []
        for path in sorted(self._overrides.rglob("*.j2")):
            name = path.relative_to(self._overrides).as_posix()
            unknown = _unknown_name(name)
            if unknown:
                found.append(TemplateProblem(path, 1, unknown))
                continue
            try:
                self._env.parse(path.read_text(encoding="utf-8"), name=name, filename=str(path))
            except TemplateSyntaxError as exc:
                message = f"template syntax error: {exc.message or exc}"
                found.append(TemplateProblem(path, exc.lineno or 1, message))
            except UnicodeDecodeError:
                found.append(TemplateProblem(path, 1, "not UTF-8 text"))
        for locale in LOCALES:
            found.extend(self._incomplete(locale))
        return found

    def _incomplete(self, locale: str) -> list[TemplateProblem]:
        assert self._overrides is not None
        problems = []
        for name in sorted(self.own_names(locale)):
            folder = self._overrides / locale
            for part in NEEDED_PARTS:
                if not (folder / f"{name}.{part}.j2").exists():
                    any_part = next(iter(sorted(folder.glob(f"{name}.*.j2"))))
                    problems.append(
                        TemplateProblem(any_part, 1, f"{name}.{part}.j2 is missing beside it")
                    )
        return problems

    def render(self, name: str, locale: str, context: Mapping[str, object]) -> Rendered:
        if locale not in LOCALES:
            raise ValueError(f"no templates for locale {locale!r}; use one of {LOCALES}")
        get = self._env.get_template
        filled = {**self._brand.get(locale, {}), **context}
        text = get(f"{locale}/{name}.txt.j2").render(filled)
        return Rendered(
            subject=" ".join(get(f"{locale}/{name}.subject.j2").render(filled).split()),
            text=text,
            html=self._html(f"{locale}/{name}.html.j2", filled, text),
        )

    def page(self, name: str, locale: str, context: Mapping[str, object]) -> str:
        """A web page (`<locale>/pages/<name>.html.j2`, escaped like the HTML mail), from the
        same packaged folder under the same admin overrides as the mail."""
        if locale not in LOCALES:
            raise ValueError(f"no templates for locale {locale!r}; use one of {LOCALES}")
        filled = {**self._brand.get(locale, {}), "locale": locale, **context}
        return self._env.get_template(f"{locale}/pages/{name}.html.j2").render(filled)

    def _html(self, template: str, context: Mapping[str, object], text: str) -> str:
        """The HTML part; an admin's own template without one gets its text, escaped."""
        try:
            found = self._env.get_template(template)
        except TemplateNotFound:
            return f"<pre>{escape(text)}</pre>\n"
        return found.render(context)


def _unknown_name(name: str) -> str:
    """Why the gateway would never read the file `name` (relative to the admin's folder),
    or "": a template is LOCALE/NAME.PART.j2."""
    folder, _, filename = name.rpartition("/")
    if folder not in LOCALES:
        return f"unknown template name '{name}': put it in a locale folder ({', '.join(LOCALES)})"
    part = filename.removesuffix(".j2").rpartition(".")[2]
    if filename.count(".") != 2 or part not in PARTS:
        return (
            f"unknown template name '{filename}': name it NAME.subject.j2, NAME.txt.j2 or "
            "NAME.html.j2"
        )
    return ""


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


def new_message_id(domain: str) -> str:
    """A Message-ID unique across processes and restarts (RFC 5322 section 3.6.4): from the
    OS's randomness, not `make_msgid`'s `random` module, which a library or a test framework
    may have seeded (two gateways seeded alike would then mint the same ids)."""
    return f"<{time.time_ns():x}.{secrets.token_hex(8)}{_OUR_ID_END}@{domain}>"


def is_our_message_id(message_id: str, domains: Iterable[str]) -> bool:
    """A Message-ID `new_message_id` made for one of `domains`, not merely one from our
    domain (an agent's own mail has those): a loop signal when it comes back unasked."""
    local, _, domain = message_id.strip().strip("<>").rpartition("@")
    return local.endswith(_OUR_ID_END) and domain.lower() in {d.lower() for d in domains}


def compose(
    kind: MailKind, rendered: Rendered, addressing: Addressing, now: datetime
) -> OutgoingMail:
    """The mail's bytes, composed once (outbound/message_bytes.py writes them directly)."""
    domain = addressing.from_address.rpartition("@")[2]
    message_id = new_message_id(domain)
    subject = rendered.subject
    if addressing.ticket is not None:
        subject = f"[#{addressing.ticket}] {subject}"
    headers = [
        ("Message-ID", message_id),
        ("Date", format_datetime(now)),
        ("From", mailbox(addressing.from_name, addressing.from_address)),
        ("To", mailboxes(addressing.to)),
    ]
    if addressing.cc:
        headers.append(("Cc", mailboxes(addressing.cc)))
    headers.append(("Subject", encoded(subject, "Subject")))
    if addressing.reply_to:
        headers.append(("Reply-To", header_text(addressing.reply_to)))
    in_reply_to = next(iter(message_ids([addressing.in_reply_to or ""])), "")
    if in_reply_to:
        headers.append(("In-Reply-To", in_reply_to))
    references = message_ids(addressing.references)
    if in_reply_to and in_reply_to not in references:
        references.append(in_reply_to)
    if references:
        headers.append(("References", folded_ids(references[-20:])))
    if addressing.automatic:
        headers.append(("Auto-Submitted", addressing.automatic))
        # Asks Exchange not to answer this mail with its own out-of-office replies.
        headers.append(("X-Auto-Response-Suppress", "All"))
    if addressing.ticket is not None:
        headers.append(("X-Ticketgate-Ticket", str(addressing.ticket)))
    return OutgoingMail(
        kind=kind,
        message_id=message_id,
        mail_from=addressing.from_address,
        recipients=tuple(address for _, address in (*addressing.to, *addressing.cc)),
        content=message_bytes(headers, rendered.text, rendered.html, addressing.attachments),
        ticket=addressing.ticket,
    )
