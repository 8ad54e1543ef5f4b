"""Rule regexes, the only module that imports `regex`.

Admins' patterns run against text strangers send, so a pattern must not be
able to stall the gateway: the `regex` engine takes a time limit per search,
which Python's `re` cannot. A search that runs out of time counts as no match
and is logged with the pattern to fix.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol, cast

import regex

log = logging.getLogger(__name__)

SEARCH_SECONDS = 0.1


class PatternError(ValueError):
    def __init__(self, message: str, position: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


class _CompileError(Protocol):
    """What a `regex.error` carries at run time (the types-regex stub declares only
    its constructor)."""

    msg: str
    pos: int | None


@dataclass(frozen=True)
class Pattern:
    source: str
    _compiled: regex.Pattern[str]

    def find(self, text: str) -> str | None:
        """The matched text, or None (also when the search ran out of time)."""
        try:
            found = self._compiled.search(text, timeout=SEARCH_SECONDS)
        except TimeoutError:
            log.warning("rule regex /%s/ ran out of time and did not match", self.source)
            return None
        return found.group(0) if found else None


def compile_pattern(source: str) -> Pattern:
    """Case-insensitive, like every other rule matcher."""
    try:
        return Pattern(source, regex.compile(source, regex.IGNORECASE | regex.VERSION0))
    except regex.error as exc:
        detail = cast(_CompileError, exc)
        raise PatternError(str(detail.msg), detail.pos) from exc
