"""HTML body to plain text without its quoted history: the fallback of `inbound/reply_text.py`
when a mail has no text part, also called by the intake directly."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from inbound.reply_patterns import (
    ANY_FIELD_RE,
    ATTRIBUTION_END_RE,
    DATE_FIELD_RE,
    FORWARD_RE,
    FROM_FIELD_RE,
)

# --- HTML to plain text ------------------------------------------------------------

_VOID_TAGS = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    ]
)
_DROPPED_TAGS = frozenset(["head", "script", "style", "title", "template", "noscript", "object"])
_BLOCK_TAGS = frozenset(
    [
        "address",
        "article",
        "blockquote",
        "aside",
        "center",
        "dd",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "section",
        "table",
        "tbody",
        "thead",
        "tfoot",
        "tr",
        "ul",
    ]
)
_PARAGRAPH_TAGS = frozenset(["p", "pre", "h1", "h2", "h3", "h4", "h5", "h6"])
_CELL_TAGS = frozenset(("td", "th"))
_QUOTE_CLASSES = frozenset(
    ("gmail_quote", "gmail_quote_container", "gmail_attr", "moz-cite-prefix", "yahoo_quoted")
)
# Outlook marks where the quoted message starts with one of these ids; the old
# message follows the marker as a sibling, so everything after it is history.
_CUT_IDS = frozenset(("appendonsend", "divrplyfwdmsg", "stopspelling"))
# Outlook desktop opens the quoted header block ("De:/Enviada em:/Para:") with a
# borderless div that has only a thin top rule; #B5C4DF is the 2007-2010 colour.
_OUTLOOK_HEADER_STYLE_RE = re.compile(r"border-top:solid#(?:e1e1e1|b5c4df)")
_NO_BOTTOM_MARGIN_RE = re.compile(r"(?:^|;)margin(?:-bottom)?:0(?:[a-z]+)?(?:;|$)")
_MAX_RULES = 50  # <hr>s looked at for a header block after them
_HEADER_CHUNKS = 200  # text pieces read after one: a header block is a few short lines
_INLINE_SPACE_RE = re.compile(r"[ \t\r\n\f]+")
_ZERO_WIDTH_RE = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")


def without_zero_width(text: str) -> str:
    """`text` without zero-width spaces, joiners and BOMs (a regex: `str.translate` with a
    deletion table looks up a dict per character: eight times slower on a mail body)."""
    return _ZERO_WIDTH_RE.sub("", text)


def html_to_text(html: str, *, quote_marks: bool = False) -> str:
    """Plain text of an HTML body without its quoted history.

    Block elements become line breaks, entities are decoded, script, style and
    head are dropped, and the quoting containers of Gmail, Outlook, Apple Mail,
    Thunderbird and Yahoo are removed, so what is left is what the sender typed.
    A header block after an <hr> ends the text; a Gmail forward and a plain
    <blockquote> that no attribution introduces (the sender's own quotation) are
    kept. With `quote_marks`, each removed quote leaves one ">" line, so that
    `extract_reply` still sees where a quote was (an attribution before it, an
    inline answer after it).
    """
    if not html.strip():
        return ""
    parser = _HtmlText(quote_marks)
    parser.feed(html)
    parser.close()
    return _tidy_html_text(parser.finish())


class _HtmlText(HTMLParser):
    """Collects visible text, skipping dropped subtrees and everything after a cut."""

    def __init__(self, quote_marks: bool = False) -> None:
        super().__init__(convert_charrefs=True)
        self._quote_marks = quote_marks
        self._pending_quote: tuple[int, int] | None = None  # (depth, chunks) of a maybe-forward
        self._rules: list[int] = []  # where each <hr> was: a header block may follow one
        # Bare <blockquote>s: history only when one is the mail's last quote (see finish()).
        self._tentatives: list[tuple[int, int]] = []
        self._tentative_at: int | None = None  # stack depth of the open one
        self._last_quote_tentative = False
        self._chunks: list[str] = []
        self._tail = ""  # the last two characters written, to place line breaks
        self._stack: list[tuple[str, bool]] = []  # open tags, and whether each is tight
        self._skip_at: int | None = None  # stack depth of the subtree being dropped
        self._cut = False

    def text(self) -> str:
        return "".join(self._chunks)

    def finish(self) -> str:
        """The text, without the last quote of the mail if it was a bare <blockquote>, and
        without everything from an <hr> that a header block follows ("<hr><b>From:</b>")."""
        if self._tentatives and self._last_quote_tentative:
            start, end = self._tentatives[-1]
            self._chunks[start:end] = [">\n" if self._quote_marks else "\n"]
            shift = 1 - (end - start)
            self._rules = [at + shift if at >= end else min(at, start) for at in self._rules]
        for at in self._rules[:_MAX_RULES]:
            if _opens_header_block("".join(self._chunks[at : at + _HEADER_CHUNKS])):
                del self._chunks[at:]
                break
        return self.text()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._cut:
            return
        attributes = {name.lower(): value or "" for name, value in attrs}
        if tag == "body" and self._skip_at is not None and self._is_open("head"):
            # A head that is never closed ends where the body starts.
            while self._stack.pop()[0] != "head":
                pass
            self._skip_at = None
        if self._skip_at is None and _starts_history(tag, attributes):
            self._cut = True
            return
        if tag in _VOID_TAGS:
            if self._skip_at is None:
                if tag == "br":
                    self._write("\n")
                elif tag == "hr":
                    self._rules.append(len(self._chunks))
                    self._newline()
            return
        tight = tag == "p" and _is_tight_paragraph(attributes)
        self._stack.append((tag, tight))
        if self._skip_at is not None:
            return
        if tag == "blockquote" and self._tentative_at is None and self._is_bare_quote(attributes):
            self._newline()
            self._tentative_at = len(self._stack)
            self._tentatives.append((len(self._chunks), len(self._chunks)))
            self._last_quote_tentative = True
            return
        if self._pending_quote is None and _is_gmail_container(tag, attributes):
            # Gmail wraps a forward in the same container as a quote: decide on its first words.
            self._pending_quote = (len(self._stack), len(self._chunks))
        elif tag in _DROPPED_TAGS or (
            self._pending_quote is None and self._is_history_quote(tag, attributes)
        ):
            self._skip_at = len(self._stack)
            if tag not in _DROPPED_TAGS:
                self._mark_quote()
                if self._tentative_at is None:
                    self._last_quote_tentative = False
            return
        if tight:
            self._newline()
        elif tag in _PARAGRAPH_TAGS:
            self._paragraph()
        elif tag in _BLOCK_TAGS:
            self._newline()
            if tag == "li":
                self._write("- ")
        elif tag in _CELL_TAGS and not self._at_line_start():
            self._write(" ")

    def handle_endtag(self, tag: str) -> None:
        if self._cut or not self._is_open(tag):
            return
        while True:
            closed, tight = self._stack.pop()
            if closed == tag:
                break
        if self._skip_at is not None:
            if len(self._stack) < self._skip_at:
                self._skip_at = None
            return
        if self._tentative_at is not None and len(self._stack) < self._tentative_at:
            self._tentative_at = None
            self._newline()
            self._tentatives[-1] = (self._tentatives[-1][0], len(self._chunks))
            return
        if self._pending_quote is not None and len(self._stack) < self._pending_quote[0]:
            self._drop_pending_quote()  # a container with no words at all
            return
        if tight or tag in _BLOCK_TAGS:
            self._newline()
        elif tag in _PARAGRAPH_TAGS:
            self._paragraph()

    def handle_data(self, data: str) -> None:
        if self._cut or self._skip_at is not None:
            return
        if self._is_open("pre"):
            text = data.replace("\r\n", "\n").replace("\r", "\n")
        else:
            text = _INLINE_SPACE_RE.sub(" ", data)
            if self._at_line_start():
                text = text.lstrip(" ")
        if not text:
            return
        if text.strip() and self._pending_quote is not None:
            if not FORWARD_RE.match(text.strip()):
                self._drop_pending_quote()
                return
            self._pending_quote = None
        self._write(text)

    def _is_history_quote(self, tag: str, attributes: dict[str, str]) -> bool:
        """A client's quote container; Gmail's quote button only after an attribution."""
        if not _is_quote(tag, attributes):
            return False
        if tag == "blockquote" and _classes(attributes) == {"gmail_quote"}:
            return self._after_attribution()  # outside Gmail's reply container
        return True

    def _is_bare_quote(self, attributes: dict[str, str]) -> bool:
        """A <blockquote> no client marks as a reply quote and no attribution introduces."""
        marked = attributes.get("type", "").lower() == "cite" or bool(_classes(attributes))
        return not marked and not self._after_attribution()

    def _after_attribution(self) -> bool:
        last = self._last_line()
        if not re.search(r"[\d@]", last):
            return False
        return last.endswith(":") or bool(ATTRIBUTION_END_RE.search(last))

    def _last_line(self) -> str:
        """The last non-blank line written so far (read from the end: mails can be long)."""
        tail = ""
        for chunk in reversed(self._chunks):
            tail = chunk + tail
            if tail.strip() and "\n" in tail.rstrip():
                break
        return tail.rstrip().rpartition("\n")[2].strip()

    def _drop_pending_quote(self) -> None:
        assert self._pending_quote is not None
        depth, chunks = self._pending_quote
        self._pending_quote = None
        self._truncate(chunks)
        self._skip_at = depth if len(self._stack) >= depth else None
        self._mark_quote()

    def _mark_quote(self) -> None:
        if self._quote_marks:
            self._newline()
            self._write(">\n")

    def _truncate(self, chunks: int) -> None:
        del self._chunks[chunks:]
        self._tail = "".join(self._chunks[-2:])[-2:]

    def _is_open(self, tag: str) -> bool:
        return any(name == tag for name, _ in self._stack)

    def _write(self, text: str) -> None:
        self._chunks.append(text)
        self._tail = (self._tail + text)[-2:]

    def _at_line_start(self) -> bool:
        return not self._chunks or self._tail.endswith("\n")

    def _newline(self) -> None:
        if not self._at_line_start():
            self._write("\n")

    def _paragraph(self) -> None:
        if not self._chunks:
            return
        self._newline()
        if self._tail != "\n\n":
            self._write("\n")


def _classes(attributes: dict[str, str]) -> set[str]:
    return set(attributes.get("class", "").lower().split())


def _is_quote(tag: str, attributes: dict[str, str]) -> bool:
    """A quoting container: every blockquote, and the clients' quote wrappers."""
    if tag == "blockquote":
        return True
    return bool(_classes(attributes) & _QUOTE_CLASSES)


def _opens_header_block(text: str) -> bool:
    """Whether text starts with a From/Date header field and reads as a header block: more
    fields, or an address (Outlook.com and Hotmail put no other marker after their <hr>)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()][:6]
    if not lines or not (FROM_FIELD_RE.match(lines[0]) or DATE_FIELD_RE.match(lines[0])):
        return False
    fields = sum(1 for line in lines if ANY_FIELD_RE.match(line))
    return fields >= 2 or "@" in lines[0]


def _is_gmail_container(tag: str, attributes: dict[str, str]) -> bool:
    return tag == "div" and "gmail_quote" in _classes(attributes)


def _starts_history(tag: str, attributes: dict[str, str]) -> bool:
    """An Outlook marker after which the whole rest of the body is the old message."""
    if attributes.get("id", "").lower() in _CUT_IDS:
        return True
    if tag != "div":
        return False
    style = "".join(attributes.get("style", "").lower().split())
    return "border:none" in style and bool(_OUTLOOK_HEADER_STYLE_RE.search(style))


def _is_tight_paragraph(attributes: dict[str, str]) -> bool:
    # Outlook writes each line as <p class=MsoNormal> (or a margin-less <p> on the
    # web) and adds explicit empty paragraphs for spacing, so these are single lines.
    if "msonormal" in _classes(attributes):
        return True
    style = "".join(attributes.get("style", "").lower().split())
    return bool(_NO_BOTTOM_MARGIN_RE.search(style))


def _tidy_html_text(text: str) -> str:
    lines: list[str] = []
    for raw in without_zero_width(text).replace("\xa0", " ").split("\n"):
        line = raw.strip()
        if line == "--" and raw.startswith("-- "):
            line = "-- "  # keep the RFC 3676 signature delimiter recognisable
        lines.append(line)
    return _collapse_blank_lines(lines)


def _collapse_blank_lines(lines: list[str]) -> str:
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")
