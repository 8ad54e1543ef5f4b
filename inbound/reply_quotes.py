"""Quotes and attributions in a plain-text reply: the half of `inbound/reply_text.py` that
reads ">" lines, the "On ... wrote:" lines that introduce them, and inline answers."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from inbound import reply_patterns as pat

_QUOTE_PREFIX = ">"
_EMPTY_QUOTE_RE = re.compile(r"^>[>\s]*$")
_DIGIT_RE = re.compile(r"\d")
_TIME_RE = re.compile(r"\b\d{1,2}\s?[:.h]\s?\d{2}\b")
EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# The end of an attribution that names the sender's address: "... <bob@x.com>:" or ">:".
_ADDRESS_END_RE = re.compile(r"(?:@[\w-]+(?:\.[\w-]+)+[>)\]]*|^[>)\]]+)\s*:\s*$")
_DATE_START_RE = re.compile(r"^\d{1,4}[./-]\d{1,2}[./-]\d{1,4}\b")
_DATE_LEAD_RE = re.compile(r"^(?:\d|\w{1,4}[.,]?\s+\d)")  # "2014-10-17", "tir. 18.", "ср, 30"
_LINK_ONLY_RE = re.compile(r"^\s*[(<\[]https?://\S+?[)>\]]\s*>?\s*$")  # "(http://...) >"
_ATTRIBUTION_MAX_CHARS = 300
_WRAP_LOOKBACK = 3
_WRAPPED_QUOTE_CHARS = 60  # a quoted line this long was probably hard-wrapped by the client


def is_quoted(line: str) -> bool:
    return line.startswith(_QUOTE_PREFIX)


def has_text(lines: list[str]) -> bool:
    return any(line.strip() for line in lines)


def next_text(lines: list[str], index: int) -> str | None:
    """The next non-blank line after `index`, or None."""
    return next((line for line in itertools.islice(lines, index + 1, None) if line.strip()), None)


def ends_attribution(line: str) -> bool:
    if pat.ATTRIBUTION_END_RE.search(line) or _ADDRESS_END_RE.search(line):
        return True
    # Old Gmail: "2011/4/7 Nathan <support@example.com>", no verb and no colon.
    return bool(_DATE_START_RE.match(line) and re.search(r"@[\w.-]+>?\s*$", line))


def strong_attribution(joined: str) -> bool:
    """A date and a time or an address: enough to cut text that carries no ">"."""
    if len(joined) > _ATTRIBUTION_MAX_CHARS or not _DIGIT_RE.search(joined):
        return False
    return bool(_TIME_RE.search(joined) or EMAIL_RE.search(joined))


def attribution_start(lines: list[str], end: int) -> int:
    """Where an attribution wrapped by the client begins (up to three lines up)."""
    if pat.ATTRIBUTION_START_RE.match(lines[end].strip()):
        return end
    start = end
    for above in range(end - 1, max(end - 1 - _WRAP_LOOKBACK, -1), -1):
        line = lines[above].strip()
        if not line or is_quoted(lines[above]):
            break
        if _starts_attribution(line):
            start = above
    return start


def _starts_attribution(line: str) -> bool:
    """ "On <date>", "Em <date>", "2014-10-17 11:28", "tir. 18. apr." - never a sentence."""
    if line.endswith((".", "!", "?")) or not _DIGIT_RE.search(line[:25]):
        return False
    return bool(pat.ATTRIBUTION_START_RE.match(line) or _DATE_LEAD_RE.match(line))


# --- quotes and inline answers ---------------------------------------------------


@dataclass
class _Run:
    quoted: bool
    indexes: list[int]


def without_quotes(lines: list[str]) -> list[str]:
    """The new lines, keeping as quote only the questions an inline answer follows."""
    attribution = _attribution_lines(lines)
    first_quote = next((i for i, line in enumerate(lines) if is_quoted(line)), len(lines))
    top_posted = any(
        line.strip() and i not in attribution for i, line in enumerate(lines[:first_quote])
    )
    runs: list[_Run] = []
    for index, line in enumerate(lines):
        if index in attribution or not line.strip():
            continue
        quoted = is_quoted(line) or _continues_quote(lines, index, top_posted)
        if runs and runs[-1].quoted == quoted:
            runs[-1].indexes.append(index)
        else:
            runs.append(_Run(quoted, [index]))
    answered = runs[:-1] if len(runs) >= 2 and _is_sign_off(lines, runs[-1]) else runs
    keep: set[int] = set()
    interleaved = len(answered) >= 3
    for position, run in enumerate(runs):
        if not run.quoted:
            keep.update(run.indexes)
        elif interleaved and position + 1 < len(answered):
            keep.update(_last_paragraph(lines, run.indexes))
    return [line.rstrip() for index, line in enumerate(lines) if index in keep or not line.strip()]


def _continues_quote(lines: list[str], index: int, top_posted: bool) -> bool:
    """An unquoted line the client wrapped out of a quoted one (no ">" of its own).

    Both neighbours are quoted, and the line is a link in brackets, or closes a
    link the quoted line above broke. Below a top-posted reply (nobody answers
    inline there) a lower-case line under a long quoted line is a wrap too.
    """
    if index == 0 or index + 1 >= len(lines):
        return False
    above, line = lines[index - 1], lines[index]
    if not (is_quoted(above) and is_quoted(lines[index + 1])):
        return False
    if _LINK_ONLY_RE.match(line):
        return True
    if re.search(r"[(<]https?://\S*$", above) and re.match(r"\S*[)>]", line):
        return True
    first = line.lstrip()[:1]
    lower = bool(first) and not (first.isupper() or first.isdigit())
    return top_posted and len(above) >= _WRAPPED_QUOTE_CHARS and lower


def _is_sign_off(lines: list[str], run: _Run) -> bool:
    """A short last run that opens with "Regards," and the like is not an answer."""
    return (
        not run.quoted
        and len(run.indexes) <= 3
        and bool(pat.SIGN_OFF_RE.match(lines[run.indexes[0]].strip()))
    )


def _last_paragraph(lines: list[str], indexes: list[int]) -> list[int]:
    """The quoted lines after the run's last empty ">" line or blank gap."""
    content = list(indexes)
    while content and _EMPTY_QUOTE_RE.match(lines[content[-1]]):
        content.pop()
    paragraph: list[int] = []
    for index in reversed(content):
        if _EMPTY_QUOTE_RE.match(lines[index]):
            break
        if paragraph and paragraph[-1] != index + 1:
            break
        paragraph.append(index)
    return paragraph


def _attribution_lines(lines: list[str]) -> set[int]:
    """Indexes of "On ... wrote:" / "Em ... escreveu:" lines that introduce a quote."""
    found: set[int] = set()
    for index, line in enumerate(lines):
        if is_quoted(line) or not ends_attribution(line.strip()):
            continue
        following = next_text(lines, index)
        if following is not None and not is_quoted(following):
            continue
        start = attribution_start(lines, index)
        joined = " ".join(part.strip() for part in lines[start : index + 1])
        if len(joined) > _ATTRIBUTION_MAX_CHARS:
            continue
        if pat.ATTRIBUTION_START_RE.match(joined) or re.search(r"@|\d", joined):
            found.update(range(start, index + 1))
    return found
