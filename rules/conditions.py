"""Called by the loader for each rule's `when`: reads it into engine conditions and matchers,
with the field, flag, time and regex checks they need.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from datetime import time
from typing import Any

from gateway.domain import TriageInput
from rules.engine import (
    DEFAULT_OCCASIONS,
    AllOf,
    AnyOf,
    Condition,
    FieldIs,
    FlagIs,
    Matcher,
    NotOf,
    Occasion,
    TimeBetween,
)
from rules.patterns import Pattern, PatternError, compile_pattern
from rules.sourcefile import Loc
from rules.vocabulary import CheckerBase, closest

OPERATORS = ("equals", "contains", "starts_with", "ends_with", "regex", "present")
WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}

# A quantified group that itself contains a quantifier, e.g. (a+)+ or (.*)*: the classic
# shape of catastrophic backtracking in a backtracking engine such as Python's `re`.
_NESTED_QUANTIFIER = re.compile(r"\((?:[^()\\]|\\.)*[+*}](?:[^()\\]|\\.)*\)\s*[+*{]")
_OVERLAPPING_ALTERNATION = re.compile(r"\(([^()|]+)\|\1\)\s*[+*{]")


def _text(values: Callable[[TriageInput], str]) -> Callable[[TriageInput], Sequence[str]]:
    return lambda subject: (values(subject),)


FIELDS: dict[str, Callable[[TriageInput], Sequence[str]]] = {
    "sender": _text(lambda s: s.sender),
    "sender_name": _text(lambda s: s.sender_name),
    "sender_domain": _text(lambda s: s.sender.rpartition("@")[2]),
    "organization": lambda s: (s.organization,) if s.organization else (),
    "recipient": lambda s: s.recipients,
    "subject": _text(lambda s: s.subject),
    "body": _text(lambda s: s.body),
}
FLAGS: dict[str, Callable[[TriageInput], bool]] = {
    "is_new": lambda s: s.is_new,
    "business_hours": lambda s: s.in_business_hours,
    "from_agent": lambda s: s.is_agent,
}
CONTACT_FIELDS = ("name", "email")


def _near(value: Any, known: Sequence[str]) -> str:
    return closest(value, known) if isinstance(value, str) else f"one of: {', '.join(known)}"


def _headers_named(name: str) -> Callable[[TriageInput], Sequence[str]]:
    wanted = name.lower()
    return lambda s: tuple(v for k, v in s.headers if k.lower() == wanted)


def _contact_field(name: str) -> Callable[[TriageInput], Sequence[str]]:
    return lambda s: (getattr(s.contact, name),) if s.contact else ()


class ConditionReader(CheckerBase):
    """Reads `when` clauses; mixed into the loader's per-document checker."""

    def condition(self, loc: Loc, data: Any, implicit_all: bool = False) -> Condition:
        if data is None:
            data = {}
        if not isinstance(data, dict):
            self.problem(loc, "a condition must be a mapping", "e.g. subject: {contains: erro}")
            return AllOf(())
        parts = [self.clause((*loc, key), key, value) for key, value in data.items()]
        return parts[0] if len(parts) == 1 and not implicit_all else AllOf(tuple(parts))

    def occasions(self, loc: Loc, value: Any) -> frozenset[Occasion]:
        """A rule's `on:`: new mail, updates, or both. Only these two words: a typo must not
        quietly make a rule run on updates, where it changes tickets agents are working."""
        hint = "on: [new], on: [update] or on: [new, update]"
        if value is None or value == []:
            self.problem(loc, "'on' needs new, update or both", hint)
            return DEFAULT_OCCASIONS
        items = value if isinstance(value, list) else [value]
        known = tuple(o.value for o in Occasion)
        found: set[Occasion] = set()
        for i, item in enumerate(items):
            where = (*loc, i) if isinstance(value, list) else loc
            if isinstance(item, str) and item in known:
                found.add(Occasion(item))
            else:
                self.problem(where, f"'on' takes new or update, got {item!r}", _near(item, known))
        return frozenset(found) or DEFAULT_OCCASIONS

    def clause(self, loc: Loc, key: str, value: Any) -> Condition:
        if key in ("any", "all"):
            if not isinstance(value, list) or not value:
                self.problem(loc, f"'{key}' takes a non-empty list of conditions")
                return AllOf(())
            parts = tuple(self.condition((*loc, i), item) for i, item in enumerate(value))
            return AnyOf(parts) if key == "any" else AllOf(parts)
        if key == "not":
            label = json.dumps(value, ensure_ascii=False, default=str)
            return NotOf(self.condition(loc, value), label)
        if key in FIELDS:
            return FieldIs(key, FIELDS[key], self.matcher(loc, value))
        if key in FLAGS:
            return FlagIs(key, FLAGS[key], self.boolean(loc, value))
        if key == "header":
            return self.mapping_of(loc, value, "header", lambda n: _headers_named(n))
        if key == "contact":
            return self.contact(loc, value)
        if key == "attachment":
            return self.attachment(loc, value)
        if key == "time":
            return self.time_window(loc, value)
        known = (*FIELDS, *FLAGS, "header", "contact", "attachment", "time", "any", "all", "not")
        self.problem(loc, f"unknown condition '{key}'", closest(key, known))
        return AllOf(())

    def mapping_of(
        self,
        loc: Loc,
        value: Any,
        label: str,
        values: Callable[[str], Callable[[TriageInput], Sequence[str]]],
    ) -> Condition:
        if not isinstance(value, dict) or not value:
            self.problem(
                loc,
                f"'{label}' takes a mapping of names to matchers",
                f"{label}: {{X-Priority: {{equals: '1'}}}}",
            )
            return AllOf(())
        return AllOf(
            tuple(
                FieldIs(f"{label} {name}", values(str(name)), self.matcher((*loc, name), m))
                for name, m in value.items()
            )
        )

    def contact(self, loc: Loc, value: Any) -> Condition:
        if not isinstance(value, dict) or not value:
            self.problem(loc, "'contact' takes a mapping", "contact: {can_open_tickets: true}")
            return AllOf(())
        parts: list[Condition] = []
        for key, matcher in value.items():
            if key == "can_open_tickets":
                expected = self.boolean((*loc, key), matcher)
                parts.append(
                    FlagIs(
                        "contact can_open_tickets",
                        lambda s: bool(s.contact and s.contact.can_open_tickets),
                        expected,
                    )
                )
            elif key == "known":
                parts.append(
                    FlagIs(
                        "contact known",
                        lambda s: s.contact is not None,
                        self.boolean((*loc, key), matcher),
                    )
                )
            elif key in CONTACT_FIELDS:
                parts.append(
                    FieldIs(
                        f"contact {key}",
                        _contact_field(key),
                        self.matcher((*loc, key), matcher),
                    )
                )
            else:
                options = ("can_open_tickets", "known", *CONTACT_FIELDS)
                self.problem(
                    (*loc, key), f"unknown contact attribute '{key}'", closest(key, options)
                )
        return AllOf(tuple(parts))

    def attachment(self, loc: Loc, value: Any) -> Condition:
        if isinstance(value, bool):
            return FlagIs("has attachment", lambda s: bool(s.attachments), value)
        if not isinstance(value, dict) or not value:
            self.problem(
                loc,
                "'attachment' takes true/false or {type: …, name: …}",
                "attachment: {type: {starts_with: image/}}",
            )
            return AllOf(())
        parts: list[Condition] = []
        for key, matcher in value.items():
            if key == "type":
                parts.append(
                    FieldIs(
                        "attachment type",
                        lambda s: [t for _, t in s.attachments],
                        self.matcher((*loc, key), matcher),
                    )
                )
            elif key == "name":
                parts.append(
                    FieldIs(
                        "attachment name",
                        lambda s: [n for n, _ in s.attachments],
                        self.matcher((*loc, key), matcher),
                    )
                )
            else:
                self.problem(
                    (*loc, key),
                    f"unknown attachment attribute '{key}'",
                    closest(key, ("type", "name")),
                )
        return AllOf(tuple(parts))

    def time_window(self, loc: Loc, value: Any) -> Condition:
        if not isinstance(value, dict):
            self.problem(loc, "'time' takes {between: 'HH:MM-HH:MM', weekdays: [...]}")
            return AllOf(())
        start, end = time(0, 0), time(0, 0)
        for key in value:
            if key not in ("between", "weekdays"):
                self.problem(
                    (*loc, key), f"unknown time key '{key}'", closest(key, ("between", "weekdays"))
                )
        between = value.get("between", "00:00-00:00")
        match = re.fullmatch(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})", str(between))
        if (
            match
            and int(match[1]) < 24
            and int(match[3]) < 24
            and max(int(match[2]), int(match[4])) < 60
        ):
            start, end = time(int(match[1]), int(match[2])), time(int(match[3]), int(match[4]))
        else:
            self.problem(
                (*loc, "between"), f"'{between}' is not a time window", "between: '18:00-08:00'"
            )
        days = value.get("weekdays", list(WEEKDAYS))
        weekdays: set[int] = set()
        for i, day in enumerate(days if isinstance(days, list) else [days]):
            if str(day).lower()[:3] in WEEKDAYS:
                weekdays.add(WEEKDAYS[str(day).lower()[:3]])
            else:
                self.problem(
                    (*loc, "weekdays", i),
                    f"'{day}' is not a weekday",
                    "use mon, tue, wed, thu, fri, sat, sun",
                )
        return TimeBetween(start, end, frozenset(weekdays))

    def matcher(self, loc: Loc, value: Any) -> Matcher:
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            return Matcher("equals", (str(value),))
        if isinstance(value, list):
            return Matcher("equals", self.strings(loc, value))
        if not isinstance(value, dict) or len(value) != 1:
            self.problem(
                loc,
                "a matcher is a value, a list, or one operator",
                "subject: {contains: [erro, falha]}",
            )
            return Matcher("equals", ())
        [(op, operand)] = value.items()
        if op not in OPERATORS:
            self.problem((*loc, op), f"unknown operator '{op}'", closest(op, OPERATORS))
            return Matcher("equals", ())
        if op == "present":
            return Matcher("present", present=self.boolean((*loc, op), operand))
        if op == "regex":
            return Matcher("regex", pattern=self.regex((*loc, op), operand))
        return Matcher(
            op, self.strings((*loc, op), operand if isinstance(operand, list) else [operand])
        )

    def regex(self, loc: Loc, value: Any) -> Pattern | None:
        if not isinstance(value, str):
            self.problem(loc, "a regex must be text", "regex: '\\berro \\d+'")
            return None
        if _NESTED_QUANTIFIER.search(value) or _OVERLAPPING_ALTERNATION.search(value):
            self.problem(
                loc,
                f"regex /{value}/ can backtrack catastrophically",
                "avoid a quantified group that contains a quantifier, like (a+)+",
            )
            return None
        try:
            return compile_pattern(value)
        except PatternError as exc:
            self.problem(
                loc,
                f"invalid regex /{value}/: {exc.message} at position {exc.position}",
                "check brackets and escape special characters with \\",
            )
            return None
