"""Loading and validating the triage rules files admins edit.

Files are `*.yaml`/`*.yml` in the rules folder, read in file-name order; each
YAML document holds one rule or a list of rules. Every key, value, regex and
reference (queues, agents, templates) is checked before a RuleSet exists, and
every mistake is reported as `file:line:column: message (hint)`, all at once.
A RuleSet is only ever built whole: there is no half-loaded set.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Any

from gateway.domain import CATEGORIES, ENVIRONMENTS, Directory, Priority, Triage, TriageInput
from rules.engine import (
    AllOf,
    AnyOf,
    Condition,
    FieldIs,
    FlagIs,
    Matcher,
    NotOf,
    Rule,
    RuleSet,
    Settings,
    TimeBetween,
)
from rules.patterns import Pattern, PatternError, compile_pattern
from rules.sourcefile import Loc, Located, Problem, SourceFileError, load_yaml_documents

OPERATORS = ("equals", "contains", "starts_with", "ends_with", "regex", "present")
WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
RULE_KEYS = ("name", "description", "when", "then", "stop", "enabled")
THEN_KEYS = (
    "category",
    "priority",
    "queue",
    "environment",
    "tags",
    "assignee",
    "followers",
    "reply_with",
    "reject",
    "ignore",
)

# A quantified group that itself contains a quantifier, e.g. (a+)+ or (.*)*: the classic
# shape of catastrophic backtracking in a backtracking engine such as Python's `re`.
_NESTED_QUANTIFIER = re.compile(r"\((?:[^()\\]|\\.)*[+*}](?:[^()\\]|\\.)*\)\s*[+*{]")
_OVERLAPPING_ALTERNATION = re.compile(r"\(([^()|]+)\|\1\)\s*[+*{]")


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


def rule_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def load_rules(folder: Path, vocabulary: Vocabulary) -> RuleSet:
    """The folder's rules as one validated RuleSet, or SourceFileError with every problem."""
    problems: list[Problem] = []
    rules: list[Rule] = []
    digest = hashlib.sha256()
    for path in rule_files(folder):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
        try:
            documents = load_yaml_documents(path)
        except SourceFileError as exc:
            problems.extend(exc.problems)
            continue
        for document in documents:
            checker = _Checker(document, vocabulary, folder)
            rules.extend(checker.rules())
            problems.extend(checker.problems)
    seen: dict[str, Rule] = {}
    for rule in rules:
        if rule.name in seen:
            first = seen[rule.name]
            problems.append(
                Problem(
                    folder / rule.file,
                    rule.line,
                    1,
                    f"rule name '{rule.name}' is already used at {first.file}:{first.line} "
                    "(hint: names identify rules in the audit log; make them unique)",
                )
            )
        seen.setdefault(rule.name, rule)
    if problems:
        raise SourceFileError(sorted(problems, key=lambda p: (str(p.path), p.line, p.column)))
    return RuleSet(
        rules=tuple(rules),
        defaults=Triage(queue=vocabulary.front_desk),
        version=digest.hexdigest()[:12],
    )


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


def _headers_named(name: str) -> Callable[[TriageInput], Sequence[str]]:
    wanted = name.lower()
    return lambda s: tuple(v for k, v in s.headers if k.lower() == wanted)


def _contact_field(name: str) -> Callable[[TriageInput], Sequence[str]]:
    return lambda s: (getattr(s.contact, name),) if s.contact else ()


class _Checker:
    """Turns one YAML document into rules, collecting problems instead of stopping."""

    def __init__(self, document: Located, vocabulary: Vocabulary, folder: Path) -> None:
        self.doc = document
        self.vocabulary = vocabulary
        self.file = str(document.path.relative_to(folder))
        self.problems: list[Problem] = []

    def problem(self, loc: Loc, message: str, hint: str = "") -> None:
        self.problems.append(self.doc.problem(loc, message + (f" (hint: {hint})" if hint else "")))

    def rules(self) -> list[Rule]:
        data = self.doc.data
        if data is None:
            return []
        if isinstance(data, dict):
            items: list[tuple[Loc, Any]] = [((), data)]
        elif isinstance(data, list):
            items = [((i,), item) for i, item in enumerate(data)]
        else:
            self.problem((), "a rules document must be a rule or a list of rules")
            return []
        return [rule for loc, item in items if (rule := self.rule(loc, item)) is not None]

    def rule(self, loc: Loc, data: Any) -> Rule | None:
        if not isinstance(data, dict):
            self.problem(loc, "a rule must be a mapping with name, when and then")
            return None
        before = len(self.problems)
        for key in data:
            if key not in RULE_KEYS:
                self.problem((*loc, key), f"unknown rule key '{key}'", _closest(key, RULE_KEYS))
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            self.problem(loc, "a rule needs a name", "name: Sistema fora do ar é crítico")
            name = "?"
        when = self.condition((*loc, "when"), data.get("when", {}), implicit_all=True)
        if "then" not in data:
            self.problem(
                loc, f"rule '{name}' has no 'then'", "what should it set? e.g. priority: 1"
            )
        then = self.settings((*loc, "then"), data.get("then") or {})
        stop = self.boolean((*loc, "stop"), data.get("stop", False))
        enabled = self.boolean((*loc, "enabled"), data.get("enabled", True))
        if len(self.problems) > before or not enabled:
            return None
        canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
        return Rule(
            name=name,
            file=self.file,
            line=self.doc.position(loc)[0],
            version=hashlib.sha256(canonical.encode()).hexdigest()[:12],
            when=when,
            then=then,
            stop=stop,
        )

    # --- conditions -----------------------------------------------------------------

    def condition(self, loc: Loc, data: Any, implicit_all: bool = False) -> Condition:
        if data is None:
            data = {}
        if not isinstance(data, dict):
            self.problem(loc, "a condition must be a mapping", "e.g. subject: {contains: erro}")
            return AllOf(())
        parts = [self.clause((*loc, key), key, value) for key, value in data.items()]
        return parts[0] if len(parts) == 1 and not implicit_all else AllOf(tuple(parts))

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
        self.problem(loc, f"unknown condition '{key}'", _closest(key, known))
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
                    (*loc, key), f"unknown contact attribute '{key}'", _closest(key, options)
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
                    _closest(key, ("type", "name")),
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
                    (*loc, key), f"unknown time key '{key}'", _closest(key, ("between", "weekdays"))
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
            self.problem((*loc, op), f"unknown operator '{op}'", _closest(op, OPERATORS))
            return Matcher("equals", ())
        if op == "present":
            return Matcher("present", present=self.boolean((*loc, op), operand))
        if op == "regex":
            return Matcher("regex", pattern=self.regex((*loc, op), operand))
        return Matcher(
            op, self.strings((*loc, op), operand if isinstance(operand, list) else [operand])
        )

    def strings(self, loc: Loc, values: list[Any]) -> tuple[str, ...]:
        out = []
        for i, value in enumerate(values):
            if isinstance(value, (dict, list)) or value is None:
                self.problem((*loc, i), "expected text", "quote it: 'valor'")
            else:
                out.append(str(value))
        return tuple(out)

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

    def boolean(self, loc: Loc, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        self.problem(loc, f"expected true or false, got {value!r}")
        return False

    # --- actions --------------------------------------------------------------------

    def settings(self, loc: Loc, data: Any) -> Settings:
        if not isinstance(data, dict):
            self.problem(loc, "'then' must be a mapping", "then: {priority: 1, queue: n2}")
            return Settings()
        v = self.vocabulary
        for key in data:
            if key not in THEN_KEYS:
                self.problem((*loc, key), f"unknown action '{key}'", _closest(key, THEN_KEYS))
        values: dict[str, Any] = {}
        if "category" in data:
            values["category"] = self.choice(
                (*loc, "category"), data["category"], CATEGORIES, what="category"
            )
        if "environment" in data:
            values["environment"] = self.choice(
                (*loc, "environment"), data["environment"], ENVIRONMENTS, what="environment"
            )
        if "priority" in data:
            raw = data["priority"]
            if isinstance(raw, int) and not isinstance(raw, bool) and 0 <= raw <= 3:
                values["priority"] = Priority(raw)
            else:
                self.problem(
                    (*loc, "priority"),
                    f"priority must be 0, 1, 2 or 3, got {raw!r}",
                    "0 critical, 1 high, 2 medium, 3 normal",
                )
        if "queue" in data:
            values["queue"] = self.choice(
                (*loc, "queue"), data["queue"], sorted(v.queues), what="queue in directory.yaml"
            )
        if "assignee" in data:
            values["assignee"] = self.choice(
                (*loc, "assignee"),
                str(data["assignee"]).lower(),
                sorted(v.agents),
                what="agent in directory.yaml",
            )
        if "tags" in data:
            tags = self.strings((*loc, "tags"), _as_list(data["tags"]))
            for i, tag in enumerate(tags):
                if not re.fullmatch(r"[\w\-.:]+", tag):
                    self.problem(
                        (*loc, "tags", i),
                        f"tag '{tag}' has spaces or symbols",
                        "use letters, digits, - _ . :",
                    )
            values["tags"] = tags
        if "followers" in data:
            followers = tuple(
                f.lower() for f in self.strings((*loc, "followers"), _as_list(data["followers"]))
            )
            for i, person in enumerate(followers):
                if person not in v.contacts:
                    self.problem(
                        (*loc, "followers", i),
                        f"'{person}' is not a contact in directory.yaml",
                        "followers are customers' contacts; agents are told by their queue",
                    )
            values["followers"] = followers
        for key in ("reply_with", "reject"):
            if key in data:
                values[key] = self.choice(
                    (*loc, key), data[key], sorted(v.templates.get(key, ())), what="template"
                )
        if "ignore" in data:
            values["ignore"] = self.boolean((*loc, "ignore"), data["ignore"])
        return Settings(**{k: val for k, val in values.items() if val is not None})

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


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _closest(word: str, options: Iterable[str]) -> str:
    found = difflib.get_close_matches(str(word), list(options), n=1)
    return f"did you mean '{found[0]}'?" if found else f"known: {', '.join(options)}"
