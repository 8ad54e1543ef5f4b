"""Extracting only what the sender newly wrote in a reply.

The inbound pipeline's reply-extraction step calls `new_text` with a
ParsedMessage's text and HTML bodies, so a ticket comment holds the
customer's new words rather than the quoted history every mail client
appends. Dropping text here loses nothing: the raw store keeps the original
message byte for byte.

Everything here is a pure function of its arguments (no I/O, no clock) and
uses only the standard library; the HTML converter (`html.parser`) lives in
`inbound/html_text.py`, and `html_to_text` is re-exported here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from inbound.html_text import _ZERO_WIDTH, _collapse_blank_lines, html_to_text

__all__ = ["extract_reply", "html_to_text", "new_text"]


def new_text(text_body: str, html_body: str) -> str:
    """The new text of a reply, preferring the text part most clients also send."""
    source = text_body if text_body.strip() else html_to_text(html_body)
    return extract_reply(source)


# --- plain-text reply extraction ---------------------------------------------------

_QUOTE_PREFIX = ">"
_EMPTY_QUOTE_RE = re.compile(r"^>[>\s]*$")
_ATTRIBUTION_END_RE = re.compile(r"\b(?:wrote|escreveu)\s*:\s*$", re.IGNORECASE)
_ATTRIBUTION_START_RE = re.compile(r"^(?:On|Em)\s", re.IGNORECASE)
_ATTRIBUTION_EVIDENCE_RE = re.compile(r"@|\d")
_ATTRIBUTION_MAX_CHARS = 300
_HEADER_FROM_RE = re.compile(r"^\*?(?:From|De)\s*:\*?\s*\S", re.IGNORECASE)
_HEADER_FIELD_RE = re.compile(
    r"^\*?(?:Sent|To|Subject|Date|Cc|Bcc|Reply-To|Importance|"
    r"Enviad[oa](?:\s+em)?|Para|Assunto|Data|Cco|Import[aâ]ncia)\s*:",
    re.IGNORECASE,
)
_HEADER_SCAN_LINES = 8
# A separator that only ever introduces an old or forwarded message.
_HISTORY_SEPARATOR_RE = re.compile(
    r"^(?:-{2,}\s*(?:Original Message|Mensagem original|Forwarded message|"
    r"Mensagem encaminhada)\s*-{2,}|Begin forwarded message:|"
    r"In[ií]cio da mensagem encaminhada:)$",
    re.IGNORECASE,
)
# Outlook's underscore rule is also used as plain decoration, so it only counts
# when a header block follows it.
_RULE_RE = re.compile(r"^_{10,}$")
_SIGNATURE_DELIMITER = "-- "
_MOBILE_SIGNATURE_RE = re.compile(
    r"^(?:"
    r"Sent from my [\w .'-]{1,40}"
    r"|Enviad[oa] d[oe] meu [\w .'-]{1,40}"
    r"|(?:Sent from|Get) Outlook for (?:iOS|Android)"
    r"|(?:Enviado do|Obter o|Obtenha o) Outlook para (?:iOS|Android)"
    r"|Sent from Mail for Windows|Enviado do Email para Windows"
    r"|Sent from Yahoo Mail (?:for|on) (?:iPhone|iPad|Android)"
    r"|Enviado do Yahoo Mail (?:para|no) (?:iPhone|iPad|Android)"
    r")\s*(?:<[^<>\s]*>|\[[^\]\s]*\])?\s*$",
    re.IGNORECASE,
)


def extract_reply(text: str) -> str:
    """The sender's new text in a plain-text body, without the quoted history.

    Removed: an Outlook-style header block ("From:/Sent:/To:/Subject:" or
    "De:/Enviado:/Para:/Assunto:", with its optional "____" or "-----Original
    Message-----" line) and everything after it; the "-- " signature and what
    follows it; trailing mobile signatures ("Enviado do meu iPhone"); the
    "On ... wrote:" / "Em ... escreveu:" attribution before a quote; and quoted
    (">") lines.

    Inline answers: the non-blank lines form alternating runs of quoted and new
    text. With fewer than three runs (a top-post or a plain bottom-post) every
    quoted line goes. With three or more the new text is interleaved with the
    quote (answers between questions, or the sender's own quote inside their
    text), so each quoted run that is followed by new text keeps its last
    paragraph - the lines after its last empty ">" line - as the question being
    answered, and quoted runs with no answer after them are dropped.

    The result has no leading or trailing blank lines, no trailing spaces, and
    any run of two or more blank lines collapsed to one. It is "" only when the
    body is all history (a forward with no comment); if stripping signatures
    would leave nothing, the signature is kept instead.
    """
    lines = _split_lines(text)
    body = _cut_history(lines)
    reply = _without_quotes(_cut_signature(body))
    reply = _strip_mobile_signatures(reply)
    if _has_text(reply):
        return _collapse_blank_lines(reply)
    # Only a signature was written (e.g. a reply that just carries an attachment).
    unsigned = [line for line in body if line != _SIGNATURE_DELIMITER]
    return _collapse_blank_lines(_without_quotes(unsigned))


def _split_lines(text: str) -> list[str]:
    return text.translate(_ZERO_WIDTH).replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _is_quoted(line: str) -> bool:
    return line.startswith(_QUOTE_PREFIX)


def _has_text(lines: list[str]) -> bool:
    return any(line.strip() for line in lines)


def _cut_history(lines: list[str]) -> list[str]:
    """The lines before the first top-posted history block, if there is one."""
    for index, line in enumerate(lines):
        if _is_quoted(line):
            continue
        stripped = line.strip()
        if _HISTORY_SEPARATOR_RE.match(stripped):
            return lines[:index]
        if _HEADER_FROM_RE.match(stripped) and _is_header_block(lines, index):
            return lines[: _separator_before(lines, index)]
    return lines


def _is_header_block(lines: list[str], index: int) -> bool:
    """Whether a "From:"/"De:" line opens a block of mail header fields.

    Two more header fields are needed so that a sentence starting with "From:"
    does not cut the message; after a separator rule one field is enough.
    """
    fields = 0
    for line in lines[index + 1 : index + 1 + _HEADER_SCAN_LINES]:
        if not line.strip():
            break
        if _HEADER_FIELD_RE.match(line.strip()):
            fields += 1
    preceded = _separator_before(lines, index) != index
    return fields >= 2 or (fields >= 1 and preceded)


def _separator_before(lines: list[str], index: int) -> int:
    """The index of a rule line just above a header block, or the block's own index."""
    above = index - 1
    while above >= 0 and not lines[above].strip():
        above -= 1
    if above >= 0 and _RULE_RE.match(lines[above].strip()):
        return above
    return index


def _cut_signature(lines: list[str]) -> list[str]:
    """The lines before the first "-- " delimiter line (RFC 3676 section 4.3)."""
    for index, line in enumerate(lines):
        if line == _SIGNATURE_DELIMITER:
            return lines[:index]
    return lines


def _strip_mobile_signatures(lines: list[str]) -> list[str]:
    """Drops the "Sent from my iPhone" lines that end the new text."""
    end = len(lines)
    while True:
        while end and not lines[end - 1].strip():
            end -= 1
        if end and _MOBILE_SIGNATURE_RE.match(lines[end - 1].strip()):
            end -= 1
            continue
        return lines[:end]


@dataclass
class _Run:
    quoted: bool
    indexes: list[int]


def _without_quotes(lines: list[str]) -> list[str]:
    """The new lines, keeping as quote only the questions an inline answer follows."""
    attribution = _attribution_lines(lines)
    runs: list[_Run] = []
    for index, line in enumerate(lines):
        if index in attribution or not line.strip():
            continue
        quoted = _is_quoted(line)
        if runs and runs[-1].quoted == quoted:
            runs[-1].indexes.append(index)
        else:
            runs.append(_Run(quoted, [index]))
    keep: set[int] = set()
    interleaved = len(runs) >= 3
    for position, run in enumerate(runs):
        if not run.quoted:
            keep.update(run.indexes)
        elif interleaved and position + 1 < len(runs):
            keep.update(_last_paragraph(lines, run.indexes))
    return [line.rstrip() for index, line in enumerate(lines) if index in keep or not line.strip()]


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
        if _is_quoted(line) or not _ATTRIBUTION_END_RE.search(line):
            continue
        if not _quote_follows(lines, index):
            continue
        start = _attribution_start(lines, index)
        joined = " ".join(part.strip() for part in lines[start : index + 1])
        if len(joined) > _ATTRIBUTION_MAX_CHARS:
            continue
        if _ATTRIBUTION_START_RE.match(joined) or _ATTRIBUTION_EVIDENCE_RE.search(joined):
            found.update(range(start, index + 1))
    return found


def _attribution_start(lines: list[str], end: int) -> int:
    """Where an attribution line wrapped by the client begins (up to two lines up)."""
    if _ATTRIBUTION_START_RE.match(lines[end].strip()):
        return end
    for start in range(end - 1, max(end - 3, -1), -1):
        line = lines[start]
        if not line.strip() or _is_quoted(line):
            break
        if _ATTRIBUTION_START_RE.match(line.strip()):
            # A wrapped attribution starts with its date; "Em breve envio..." does not.
            return start if any(char.isdigit() for char in line) else end
    return end


def _quote_follows(lines: list[str], index: int) -> bool:
    """Whether the next non-blank line is quoted, or there is none."""
    for line in lines[index + 1 :]:
        if line.strip():
            return _is_quoted(line)
    return True
