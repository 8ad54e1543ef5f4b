"""Telling machine-written mail (bounces, auto-replies, bulk) from mail a person wrote.

Pipeline steps call `classify_automated` on the ParsedMessage right after
parsing and before any ticket is touched: a bounce is recorded against the
outbound mail it answers, an auto-reply or bulk mail is ignored, and none of
them may ever be answered (RFC 3834 section 2), which is how mail loops start.
Pure: headers in, verdict out; no I/O.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from email.message import Message
from email.utils import collapse_rfc2231_value

from gateway.domain import AutomatedKind, AutomatedVerdict, ParsedMessage

# Subject prefixes Exchange/Outlook and Gmail use for out-of-office replies. Only
# used when no header says so; kept short on purpose, because a human may well
# write "resposta automática" in a subject (see the human_ptbr.eml fixture).
_AUTO_REPLY_SUBJECT_PREFIXES = (
    "Automatic reply:",
    "Resposta automática:",
    "Auto Reply:",
    "Out of Office:",
    "Ausente:",
    "Fora do escritório",
)

# Sender local parts of the delivery system itself (RFC 5321 section 4.5.1, RFC 2142).
_DAEMON_LOCAL_PARTS = frozenset({"mailer-daemon", "postmaster"})

# Microsoft's X-Auto-Response-Suppress values that an auto-reply carries.
_SUPPRESS_TOKENS = frozenset({"all", "oof", "autoreply"})

_BULK_PRECEDENCE = frozenset({"bulk", "junk", "list"})


def classify_automated(msg: ParsedMessage) -> AutomatedVerdict | None:
    """The kind of machine that wrote the mail, or None when a person did.

    Bounces are checked first because they often also carry Auto-Submitted
    (Postfix adds it to every DSN) and must be recorded, not merely ignored.
    """
    checks: tuple[Callable[[ParsedMessage], AutomatedVerdict | None], ...] = (
        _bounce,
        _auto_reply,
        _bulk,
    )
    for check in checks:
        verdict = check(msg)
        if verdict is not None:
            return verdict
    return None


# --- bounces ----------------------------------------------------------------------


def _bounce(msg: ParsedMessage) -> AutomatedVerdict | None:
    """A delivery failure report, recognised by its structure before its sender."""
    # RFC 6522: a machine-readable report is a top-level multipart/report whose
    # report-type says what it reports. delivery-status is a DSN (RFC 3464);
    # disposition-notification is a read receipt (MDN, RFC 8098), which is an
    # automatic reply, not a failure. MDNs are sent with a null reverse path
    # (RFC 8098 section 3), so this must be decided before the next rule.
    if msg.content_type == "multipart/report":
        report_type = _content_type_param(msg.header("Content-Type"), "report-type")
        if report_type == "delivery-status":
            return _bounce_verdict("multipart/report; report-type=delivery-status")
        if report_type == "disposition-notification":
            return AutomatedVerdict(
                AutomatedKind.AUTO_REPLY,
                "multipart/report; report-type=disposition-notification (read receipt)",
            )

    # RFC 5321 section 4.5.5: notifications are sent with a null reverse path
    # (MAIL FROM:<>), which the final MTA records as Return-Path: <>.
    mail_from = msg.envelope.mail_from
    if mail_from is not None and _is_null_path(mail_from):
        return _bounce_verdict("null reverse path (MAIL FROM:<>)")
    return_path = msg.header("Return-Path")
    if return_path is not None and _is_null_path(return_path):
        return _bounce_verdict("Return-Path: <>")

    # RFC 5321 section 4.5.1 / RFC 2142: the mailbox of the mail system itself.
    if msg.sender is not None and msg.sender.local_part.lower() in _DAEMON_LOCAL_PARTS:
        return _bounce_verdict(f"From: {msg.sender.address}")

    # Exim names the failed addresses in this header of its (non-RFC 3464) bounces.
    if msg.header("X-Failed-Recipients") is not None:
        return _bounce_verdict("X-Failed-Recipients present")
    return None


def _bounce_verdict(reason: str) -> AutomatedVerdict:
    return AutomatedVerdict(AutomatedKind.BOUNCE, reason)


def _is_null_path(path: str) -> bool:
    return "".join(path.split()) in ("", "<>")


# --- auto-replies -----------------------------------------------------------------


def _auto_reply(msg: ParsedMessage) -> AutomatedVerdict | None:
    """A vacation notice or other automatic answer, by header first, subject last."""
    # RFC 3834 section 5: any Auto-Submitted value except "no" marks the mail
    # as automatic; the keyword may be followed by parameters and comments.
    auto_submitted = msg.header("Auto-Submitted")
    if auto_submitted is not None:
        keyword = _first_token(auto_submitted)
        if keyword != "no":
            return _auto_reply_verdict(f"Auto-Submitted: {keyword or '(empty)'}")

    # Non-standard headers older responders (and Exchange) still write.
    for name in ("X-Autoreply", "X-Autorespond"):
        value = msg.header(name)
        if value is not None and _first_token(value) != "no":
            return _auto_reply_verdict(f"{name} present")
    suppress = msg.header("X-Auto-Response-Suppress")
    if suppress is not None:
        found = _SUPPRESS_TOKENS.intersection(_list_tokens(suppress))
        if found:
            return _auto_reply_verdict(f"X-Auto-Response-Suppress: {suppress.strip()}")

    # Last resort for servers that send no header at all; prefix match only.
    subject = _fold(msg.subject.strip())
    for prefix in _AUTO_REPLY_SUBJECT_PREFIXES:
        if subject.startswith(_fold(prefix)):
            return _auto_reply_verdict(f"Subject starts with {prefix!r}")
    return None


def _auto_reply_verdict(reason: str) -> AutomatedVerdict:
    return AutomatedVerdict(AutomatedKind.AUTO_REPLY, reason)


# --- bulk -------------------------------------------------------------------------


def _bulk(msg: ParsedMessage) -> AutomatedVerdict | None:
    """Mail sent to many at once, which nobody expects a ticket from."""
    # RFC 2076 section 3.9 and RFC 3834 section 2: Precedence bulk/junk/list.
    precedence = msg.header("Precedence")
    if precedence is not None:
        value = _first_token(precedence)
        if value in _BULK_PRECEDENCE:
            return AutomatedVerdict(AutomatedKind.BULK, f"Precedence: {value}")
    # RFC 2919: List-Id names a mailing list.
    list_id = msg.header("List-Id")
    if list_id is not None:
        return AutomatedVerdict(AutomatedKind.BULK, f"List-Id: {' '.join(list_id.split())}")
    # RFC 2369: only list and newsletter software offers to unsubscribe.
    if msg.header("List-Unsubscribe") is not None:
        return AutomatedVerdict(AutomatedKind.BULK, "List-Unsubscribe present")
    return None


# --- small text helpers -----------------------------------------------------------


def _strip_comments(value: str) -> str:
    """A header value without its RFC 5322 (nested) comments, quotes left as they are."""
    out: list[str] = []
    depth = 0
    in_quote = False
    escaped = False
    for char in value:
        if escaped:
            escaped = False
            if depth == 0:
                out.append(char)
            continue
        if char == "\\":
            escaped = True
            if depth == 0:
                out.append(char)
        elif in_quote:
            in_quote = char != '"'
            out.append(char)
        elif char == "(":
            depth += 1
        elif char == ")" and depth:
            depth -= 1
        elif depth == 0:
            in_quote = char == '"'
            out.append(char)
    return "".join(out)


def _first_token(value: str) -> str:
    """The leading keyword of a structured header value, lower-cased."""
    text = _strip_comments(value).split(";", 1)[0]
    words = text.split()
    return words[0].strip('"').lower() if words else ""


def _list_tokens(value: str) -> set[str]:
    """The comma- or space-separated keywords of a header value, lower-cased."""
    return {word.lower() for word in _strip_comments(value).replace(",", " ").split()}


def _fold(text: str) -> str:
    """Text in the form used to compare subjects: composed accents, case folded."""
    return unicodedata.normalize("NFC", text).casefold()


def _content_type_param(value: str | None, name: str) -> str | None:
    """One parameter of a Content-Type value, lower-cased; the stdlib handles quoting."""
    if not value:
        return None
    holder = Message()
    holder["Content-Type"] = value
    param = holder.get_param(name)
    if param is None:
        return None
    return collapse_rfc2231_value(param).strip().lower()
