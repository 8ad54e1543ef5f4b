"""Evaluating a loaded rule set over one message's TriageInput.

Pure: a RuleSet is an immutable value built by `rules.loader`; `evaluate`
walks its rules in order (file name, then document, then position), skips
those whose `on:` excludes this mail (new, or an update), applies each
match's settings over the defaults, and stops at the first `stop: true`.
Every match records why it matched, so `rules test` can explain itself and
the ticket's event log can say which rule set which field.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import time
from enum import StrEnum

from gateway.domain import Priority, RuleMatch, Triage, TriageInput, TriageOutcome
from rules.patterns import Pattern

# Regexes run on at most this much text: a bound on the work one message can cause.
MAX_TEXT = 100_000

Explain = tuple[str, ...] | None


@dataclass(frozen=True)
class Matcher:
    """One operator over text values; a field matches when any of its values does."""

    op: str  # equals | contains | starts_with | ends_with | regex | present
    values: tuple[str, ...] = ()
    pattern: Pattern | None = None
    present: bool = True

    def test(self, candidates: Sequence[str]) -> str | None:
        """The value that matched, or None."""
        if self.op == "present":
            if bool(candidates) != self.present:
                return None
            return "present" if candidates else "absent"
        for candidate in candidates:
            text = candidate[:MAX_TEXT]
            folded = text.casefold()
            if self.op == "regex":
                assert self.pattern is not None
                found = self.pattern.find(text)
                if found is not None:
                    return found
                continue
            for value in self.values:
                wanted = value.casefold()
                if (
                    (self.op == "equals" and folded == wanted)
                    or (self.op == "contains" and wanted in folded)
                    or (self.op == "starts_with" and folded.startswith(wanted))
                    or (self.op == "ends_with" and folded.endswith(wanted))
                ):
                    return value
        return None

    def describe(self) -> str:
        if self.op == "regex":
            assert self.pattern is not None
            return f"regex /{self.pattern.source}/"
        if self.op == "present":
            return "present" if self.present else "absent"
        return f"{self.op} {' | '.join(repr(v) for v in self.values)}"


class Condition:
    def explain(self, subject: TriageInput) -> Explain:
        """Why the condition holds for `subject`, or None when it does not."""
        raise NotImplementedError


@dataclass(frozen=True)
class FieldIs(Condition):
    label: str
    values: Callable[[TriageInput], Sequence[str]]
    matcher: Matcher

    def explain(self, subject: TriageInput) -> Explain:
        found = self.matcher.test(self.values(subject))
        if found is None:
            return None
        return (f"{self.label} {self.matcher.describe()} (matched {found!r})",)


@dataclass(frozen=True)
class FlagIs(Condition):
    label: str
    value: Callable[[TriageInput], bool]
    expected: bool

    def explain(self, subject: TriageInput) -> Explain:
        return (
            (f"{self.label} is {self.expected}",) if self.value(subject) == self.expected else None
        )


@dataclass(frozen=True)
class TimeBetween(Condition):
    """Local time of day inside [start, end); a window may wrap midnight."""

    start: time
    end: time
    weekdays: frozenset[int] = frozenset(range(7))

    def explain(self, subject: TriageInput) -> Explain:
        local = subject.local_time
        now = local.time()
        inside = (
            self.start <= now < self.end
            if self.start <= self.end
            else now >= self.start or now < self.end
        )
        if inside and local.weekday() in self.weekdays:
            return (f"local time {now:%H:%M} between {self.start:%H:%M} and {self.end:%H:%M}",)
        return None


@dataclass(frozen=True)
class AllOf(Condition):
    parts: tuple[Condition, ...]

    def explain(self, subject: TriageInput) -> Explain:
        why: list[str] = []
        for part in self.parts:
            found = part.explain(subject)
            if found is None:
                return None
            why.extend(found)
        return tuple(why)


@dataclass(frozen=True)
class AnyOf(Condition):
    parts: tuple[Condition, ...]

    def explain(self, subject: TriageInput) -> Explain:
        for part in self.parts:
            found = part.explain(subject)
            if found is not None:
                return found
        return None


@dataclass(frozen=True)
class NotOf(Condition):
    part: Condition
    label: str

    def explain(self, subject: TriageInput) -> Explain:
        return (f"not ({self.label})",) if self.part.explain(subject) is None else None


@dataclass(frozen=True)
class Settings:
    """What a matched rule sets; None means "leave as it is"."""

    category: str | None = None
    priority: Priority | None = None
    queue: str | None = None
    environment: str | None = None
    tags: tuple[str, ...] = ()
    assignee: str | None = None
    followers: tuple[str, ...] = ()
    reply_with: str | None = None
    reject: str | None = None
    ignore: bool = False

    def names(self) -> tuple[str, ...]:
        scalars = (
            "category",
            "priority",
            "queue",
            "environment",
            "assignee",
            "reply_with",
            "reject",
        )
        out = [n for n in scalars if getattr(self, n) is not None]
        out += [n for n in ("tags", "followers") if getattr(self, n)]
        return (*out, "ignore") if self.ignore else tuple(out)


class Occasion(StrEnum):
    """Which mail a rule runs on (its `on:`): mail that opens a ticket, or an update to one."""

    NEW = "new"
    UPDATE = "update"

    @classmethod
    def of(cls, subject: TriageInput) -> Occasion:
        return cls.NEW if subject.is_new else cls.UPDATE


# Without `on:` a rule triages new mail only: a reply must not undo what agents decided.
DEFAULT_OCCASIONS = frozenset({Occasion.NEW})


@dataclass(frozen=True)
class Rule:
    name: str
    file: str
    line: int
    version: str
    when: Condition
    then: Settings
    stop: bool = False
    runs_on: frozenset[Occasion] = DEFAULT_OCCASIONS

    def runs_for(self, subject: TriageInput) -> bool:
        """Whether this mail is one the rule's `on:` names; it is not even looked at if not."""
        return Occasion.of(subject) in self.runs_on


@dataclass(frozen=True)
class RuleSet:
    """An immutable, fully validated set of rules; swapped whole on reload."""

    rules: tuple[Rule, ...] = ()
    defaults: Triage = field(default_factory=Triage)
    version: str = "empty"

    def evaluate(self, subject: TriageInput) -> TriageOutcome:
        triage = self.defaults
        assignee: str | None = None
        followers: list[str] = []
        reply_with = reject_with = None
        ignore = False
        matches: list[RuleMatch] = []
        set_by: dict[str, str] = {}
        for rule in self.rules:
            if not rule.runs_for(subject):
                continue
            why = rule.when.explain(subject)
            if why is None:
                continue
            then = rule.then
            changes = {
                key: getattr(then, key)
                for key in ("category", "priority", "queue", "environment")
                if getattr(then, key) is not None
            }
            if then.tags:
                changes["tags"] = tuple(dict.fromkeys((*triage.tags, *then.tags)))
            triage = replace(triage, **changes)
            assignee = then.assignee or assignee
            followers.extend(f for f in then.followers if f not in followers)
            reply_with = then.reply_with or reply_with
            reject_with = then.reject or reject_with
            ignore = ignore or then.ignore
            for name in then.names():
                set_by[name] = rule.name
            matches.append(
                RuleMatch(rule.file, rule.line, rule.name, rule.version, why, then.names())
            )
            if rule.stop:
                break
        return TriageOutcome(
            triage=triage,
            assignee=assignee,
            followers=tuple(followers),
            reply_with=reply_with,
            reject_with=reject_with,
            ignore=ignore,
            matches=tuple(matches),
            set_by=tuple(sorted(set_by.items())),
        )

    def held_back(self, subject: TriageInput) -> tuple[Rule, ...]:
        """Rules whose `when` holds for `subject` but whose `on:` excludes it: what
        `rules test` shows so an admin sees why a rule stayed silent on an update."""
        return tuple(
            rule
            for rule in self.rules
            if not rule.runs_for(subject) and rule.when.explain(subject) is not None
        )
