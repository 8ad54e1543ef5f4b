"""HTML body to plain text without its quoted history: the fallback of `inbound/reply_text.py`
when a mail has no text part, also called by the intake directly."""

from __future__ import annotations

import re
from html.parser import HTMLParser

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
_INLINE_SPACE_RE = re.compile(r"[ \t\r\n\f]+")
_ZERO_WIDTH = str.maketrans("", "", "\u200b\u200c\u200d\u2060\ufeff")


def html_to_text(html: str) -> str:
    """Plain text of an HTML body without its quoted history.

    Block elements become line breaks, entities are decoded, script, style and
    head are dropped, and the quoting containers of Gmail, Outlook, Apple Mail,
    Thunderbird and Yahoo are removed, so what is left is what the sender typed.
    """
    if not html.strip():
        return ""
    parser = _HtmlText()
    parser.feed(html)
    parser.close()
    return _tidy_html_text(parser.text())


class _HtmlText(HTMLParser):
    """Collects visible text, skipping dropped subtrees and everything after a cut."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._chunks: list[str] = []
        self._tail = ""  # the last two characters written, to place line breaks
        self._stack: list[tuple[str, bool]] = []  # open tags, and whether each is tight
        self._skip_at: int | None = None  # stack depth of the subtree being dropped
        self._cut = False

    def text(self) -> str:
        return "".join(self._chunks)

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
                    self._newline()
            return
        tight = tag == "p" and _is_tight_paragraph(attributes)
        self._stack.append((tag, tight))
        if self._skip_at is not None:
            return
        if tag in _DROPPED_TAGS or _is_quote(tag, attributes):
            self._skip_at = len(self._stack)
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
        if text:
            self._write(text)

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
    for raw in text.translate(_ZERO_WIDTH).replace("\xa0", " ").split("\n"):
        line = raw.strip()
        if line == "--" and raw.startswith("-- "):
            line = "-- "  # keep the RFC 3676 signature delimiter recognisable
        lines.append(line)
    return _collapse_blank_lines(lines)


def _collapse_blank_lines(lines: list[str]) -> str:
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")
