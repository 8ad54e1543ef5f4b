"""HTML sanitizing for stored message bodies; the only module that imports bleach.

bleach is deprecated upstream, so it stays behind this one function: swapping
it (for nh3 or justhtml) touches nothing else. Scripts, styles, event
handlers and remote-loading attributes are removed; basic formatting stays.
"""

from __future__ import annotations

import bleach

_TAGS = frozenset(
    {
        "a",
        "abbr",
        "b",
        "blockquote",
        "br",
        "code",
        "div",
        "em",
        "font",
        "h1",
        "h2",
        "h3",
        "h4",
        "hr",
        "i",
        "li",
        "ol",
        "p",
        "pre",
        "span",
        "strong",
        "sub",
        "sup",
        "table",
        "tbody",
        "td",
        "th",
        "thead",
        "tr",
        "u",
        "ul",
    }
)
_ATTRIBUTES = {"a": ["href", "title"], "td": ["colspan", "rowspan"], "th": ["colspan", "rowspan"]}
_PROTOCOLS = frozenset({"http", "https", "mailto"})


def sanitize_html(html: str) -> str:
    """Markup safe to show an agent: allow-listed tags, no script, no tracking."""
    return bleach.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        protocols=_PROTOCOLS,
        strip=True,
        strip_comments=True,
    )
