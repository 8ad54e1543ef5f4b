"""Extracting only what the sender newly wrote in a reply.

The inbound pipeline's reply-extraction step calls `new_text` with a
ParsedMessage's text and HTML bodies, so a ticket comment holds the
customer's new words rather than the quoted history every mail client
appends. Dropping text here loses nothing: the raw store keeps the original
message byte for byte, and `split_reply` hands the whole text back as
`history` so agents' notifications can show it collapsed below the new text.

What clients write around a reply (attributions, header blocks, separators,
mobile signatures, sign-offs) is data, one table in `inbound/reply_patterns.py`.

Policy, where the open parsers disagree, chosen for a support desk:
- never cut what may be the sender's words: a line that only looks like an
  attribution, a header block or a signature is kept unless the evidence is
  strong (a date and time or an address, a block of real header fields); text
  the sender wrote between quoted lines is kept with the question it answers;
- forwards are kept whole: a customer who forwards a mail to the desk brings
  its content to the ticket (Gmail/Thunderbird/Apple "Forwarded message"
  separators; an Outlook forward has no separator and reads as a reply);
- "Sent from my iPhone" and the like are dropped (talon keeps them), and what
  follows them is history; a "-- " (or bare "--" before a name) signature is
  dropped; sign-offs ("Regards, Maria") and "-Name" lines are kept;
- a plain HTML <blockquote> that no attribution introduces is the sender's own
  quotation (Gmail's quote button) and is kept.

Everything here is a pure function of its arguments (no I/O, no clock) and
uses only the standard library; the HTML converter lives in
`inbound/html_text.py`, and `html_to_text` is re-exported here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from inbound import reply_patterns as pat
from inbound.html_text import _collapse_blank_lines, html_to_text, without_zero_width
from inbound.reply_quotes import (
    EMAIL_RE,
    attribution_start,
    ends_attribution,
    has_text,
    is_quoted,
    next_text,
    strong_attribution,
    without_quotes,
)

__all__ = ["Reply", "extract_reply", "html_to_text", "new_text", "source_text", "split_reply"]


@dataclass(frozen=True)
class Reply:
    """A body split in two: what the sender newly wrote, and the whole text when it differs."""

    new: str
    history: str  # "" when nothing was removed


def source_text(text_body: str, html_body: str) -> str:
    """The text part most clients also send, else the HTML as text with its quotes marked."""
    return text_body if text_body.strip() else html_to_text(html_body, quote_marks=True)


def new_text(text_body: str, html_body: str) -> str:
    """The new text of a reply, preferring the text part."""
    return extract_reply(source_text(text_body, html_body))


def extract_reply(text: str) -> str:
    """The sender's new text in a plain-text body, without the quoted history."""
    return split_reply(text).new


_RULE_RE = re.compile(r"^(?:[-_=*]\s?){2,}$")
_HEADER_SCAN_LINES = 8
_JOINED_MAX_CHARS = 1000  # a joined attribution ends a line of ordinary length


def split_reply(text: str) -> Reply:
    """The new text (see the module docstring for what goes) and the history.

    Inline answers: the non-blank lines form alternating runs of quoted and new
    text. With fewer than three runs (a top-post or a plain bottom-post) every
    quoted line goes. With three or more, each quoted run followed by new text
    keeps its last paragraph as the question being answered; a sign-off after
    the last quote is not an answer.

    The result has no leading or trailing blank lines, no trailing spaces, and
    runs of blank lines collapsed to one. It is "" only when the body is all
    history; if stripping signatures would leave nothing, the signature is kept.
    """
    lines = _split_joined_attributions(_split_lines(text))
    cut, forward = _history_start(lines)
    head = lines[:cut]
    reply = _strip_mobile_signatures(without_quotes(_cut_signature(head)))
    if not has_text(reply):  # only a signature was written (e.g. a reply carrying a file)
        reply = without_quotes([line for line in head if not _is_delimiter(head, line)])
    new = _collapse_blank_lines(reply)
    if forward is not None:
        forwarded = _collapse_blank_lines([line.rstrip() for line in lines[forward:]])
        new = f"{new}\n\n{forwarded}".strip("\n")
    whole = _collapse_blank_lines([line.rstrip() for line in _split_lines(text)])
    return Reply(new=new, history="" if whole == new else whole)


def _split_lines(text: str) -> list[str]:
    return without_zero_width(text).replace("\r\n", "\n").replace("\r", "\n").split("\n")


# --- where the history starts ----------------------------------------------------


def _split_joined_attributions(lines: list[str]) -> list[str]:
    """'Thanks! On Mon, ... wrote:' becomes two lines when a quote follows it, and
    a '>:' that Gmail wrapped off '<bob@example.com' goes back onto its line."""
    out: list[str] = []
    for index, line in enumerate(lines):
        if re.fullmatch(r">\s*:\s*", line) and out and re.search(r"<[^<>\s]+@[^<>\s]+$", out[-1]):
            out[-1] = out[-1].rstrip() + ">:"
            continue
        match = None
        if not is_quoted(line) and line.rstrip().endswith(":") and len(line) <= _JOINED_MAX_CHARS:
            match = pat.JOINED_ATTRIBUTION_RE.search(line)
        if (
            match
            and match.start(1) > 0
            and strong_attribution(match.group(1))
            and ((following := next_text(lines, index)) is None or is_quoted(following))
        ):
            out += [line[: match.start(1)].rstrip(" -"), match.group(1)]
        else:
            out.append(line)
    return out


def _history_start(lines: list[str]) -> tuple[int, int | None]:
    """Where the quoted history starts, and whether it is a forward (kept whole)."""
    for index, line in enumerate(lines):
        if is_quoted(line):
            continue
        stripped = line.strip()
        if pat.FORWARD_RE.match(stripped):
            return index, index
        if pat.SEPARATOR_RE.match(stripped):
            return index, None
        if _is_header_block(lines, index):
            return _rule_above(lines, index), None
        if _RULE_RE.match(stripped) and _list_footer_follows(lines, index):
            return index, None
        start = _unquoted_history_attribution(lines, index)
        if start is not None:
            return start, None
        if pat.MOBILE_SIGNATURE_RE.match(stripped):
            following = next_text(lines, index)
            if following is not None and not is_quoted(following):
                return index + 1, None
    return len(lines), None


def _unquoted_history_attribution(lines: list[str], index: int) -> int | None:
    """The first line of an attribution ending at `index` that history without ">" follows."""
    stripped = lines[index].strip()
    if pat.ATTRIBUTION_START_RE.match(stripped) and not ends_attribution(stripped):
        # Polymail and others wrap the address onto lines of its own: look ahead for the verb.
        for end in range(index + 1, min(index + 6, len(lines))):
            joined = " ".join(line.lstrip("> ").strip() for line in lines[index : end + 1])
            if ends_attribution(lines[end].lstrip("> ").strip()) and strong_attribution(joined):
                following = next_text(lines, end)
                return index if following is None or not is_quoted(following) else None
        return None
    if not ends_attribution(stripped):
        return None
    following = next_text(lines, index)
    if following is not None and is_quoted(following):
        return None  # a quote follows: the runs below drop it, keeping inline answers
    start = attribution_start(lines, index)
    joined = " ".join(line.strip() for line in lines[start : index + 1])
    return start if strong_attribution(joined) else None


def _is_header_block(lines: list[str], index: int) -> bool:
    """Whether a "From:"/"Date:" line opens a block of quoted mail header fields.

    A sentence starting with "From:" must not cut the message, so a block needs
    three fields, or two with an address, or a rule line above it.
    """
    first = lines[index].strip()
    if not (pat.FROM_FIELD_RE.match(first) or pat.DATE_FIELD_RE.match(first)):
        return False
    fields = [first]
    wrapped = 0  # a long address the client wrapped onto a line of its own
    for line in lines[index + 1 : index + 1 + _HEADER_SCAN_LINES]:
        if pat.ANY_FIELD_RE.match(line.strip()):
            fields.append(line.strip())
            wrapped = 0
        elif line.strip() and not wrapped and EMAIL_RE.search(line):
            fields[-1] += " " + line.strip()
            wrapped = 1
        else:
            break
    preceded = _rule_above(lines, index) != index
    has_address = any(EMAIL_RE.search(field) for field in fields)
    if len(fields) >= 3 or (len(fields) == 2 and (has_address or preceded)):
        return True
    return preceded and bool(pat.FROM_FIELD_RE.match(first))


def _rule_above(lines: list[str], index: int) -> int:
    """The index of a rule line just above a header block, or the block's own index."""
    above = index - 1
    while above >= 0 and not lines[above].strip():
        above -= 1
    if above >= 0 and _RULE_RE.match(lines[above].strip()):
        return above
    return index


def _list_footer_follows(lines: list[str], index: int) -> bool:
    after = [line.strip() for line in lines[index + 1 :] if line.strip()][:3]
    return any(pat.LIST_FOOTER_RE.match(line) for line in after)


# --- signatures --------------------------------------------------------------------


def _is_delimiter(lines: list[str], line: str, index: int | None = None) -> bool:
    """The RFC 3676 section 4.3 "-- " line, or a bare "--" (trailing space lost) before a name."""
    if line == "-- ":
        return True
    if line.rstrip() != "--" or index is None:
        return False
    following = next_text(lines, index)
    return following is not None and following.strip()[:1].isalpha()


def _cut_signature(lines: list[str]) -> list[str]:
    """The lines before the first signature delimiter."""
    for index, line in enumerate(lines):
        if _is_delimiter(lines, line, index):
            return lines[:index]
    return lines


def _strip_mobile_signatures(lines: list[str]) -> list[str]:
    """Drops the "Sent from my iPhone" lines that end the new text."""
    end = len(lines)
    while True:
        while end and not lines[end - 1].strip():
            end -= 1
        if end and pat.MOBILE_SIGNATURE_RE.match(lines[end - 1].strip()):
            end -= 1
            continue
        return lines[:end]
