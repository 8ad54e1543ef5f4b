"""Shared by every step of the rules flow: what rules may refer to (the Vocabulary) and the
base checker that reports problems and checks values and references against it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.domain import Directory
from rules.sourcefile import Loc, Located, Problem


@dataclass(frozen=True)
class Vocabulary:
    """What rules may refer to: the directory's queues and people, the templates."""

    queues: frozenset[str]
    agents: frozenset[str]
    contacts: frozenset[str]
    templates: Mapping[str, frozenset[str]]  # per action: reply_with, reject
    front_desk: str | None

    @classmethod
    def of(cls, directory: Directory, templates: Mapping[str, Iterable[str]]) -> Vocabulary:
        return cls(
            queues=frozenset(q.id for q in directory.queues),
            agents=frozenset(a.email.lower() for a in directory.agents),
            contacts=frozenset(
                c.email.lower() for o in directory.organizations for c in o.contacts
            ),
            templates={action: frozenset(names) for action, names in templates.items()},
            front_desk=directory.front_desk.id if directory.front_desk else None,
        )


class CheckerBase:
    """Reports problems at a document position and checks scalar values and references."""

    def __init__(self, document: Located, vocabulary: Vocabulary, folder: Path) -> None:
        self.doc = document
        self.vocabulary = vocabulary
        self.file = str(document.path.relative_to(folder))
        self.problems: list[Problem] = []

    def problem(self, loc: Loc, message: str, hint: str = "") -> None:
        self.problems.append(self.doc.problem(loc, message + (f" (hint: {hint})" if hint else "")))

    def strings(self, loc: Loc, values: list[Any]) -> tuple[str, ...]:
        out = []
        for i, value in enumerate(values):
            if isinstance(value, (dict, list)) or value is None:
                self.problem((*loc, i), "expected text", "quote it: 'valor'")
            else:
                out.append(str(value))
        return tuple(out)

    def boolean(self, loc: Loc, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        self.problem(loc, f"expected true or false, got {value!r}")
        return False

    def choice(self, loc: Loc, value: Any, options: Sequence[str], what: str = "") -> Any:
        if isinstance(value, str) and value in options:
            return value
        label = what or "value"
        self.problem(
            loc,
            f"unknown {label} {value!r}",
            f"one of: {', '.join(options)}" if options else "none are defined",
        )
        return None


def closest(word: str, options: Iterable[str]) -> str:
    """The hint for an unknown word; case is ignored, so `On:` suggests `on`."""
    folded = {option.casefold(): option for option in options}
    found = difflib.get_close_matches(str(word).casefold(), list(folded), n=1)
    if found:
        return f"did you mean '{folded[found[0]]}'?"
    return f"known: {', '.join(folded.values())}"
