"""Entry point of the rules flow: loading and validating the triage rules files admins edit.

Files are `*.yaml`/`*.yml` in the rules folder, read in file-name order; each
YAML document holds one rule or a list of rules. Every key, value, regex and
reference (queues, agents, templates) is checked before a RuleSet exists, and
every mistake is reported as `file:line:column: message (hint)`, all at once.
A RuleSet is only ever built whole: there is no half-loaded set.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from gateway.domain import Triage
from rules.actions import THEN_KEYS, ActionReader
from rules.conditions import CONTACT_FIELDS, FIELDS, FLAGS, OPERATORS, WEEKDAYS, ConditionReader
from rules.engine import DEFAULT_OCCASIONS, Rule, RuleSet
from rules.sourcefile import Loc, Problem, SourceFileError, load_yaml_documents
from rules.vocabulary import Vocabulary, closest

__all__ = [
    "CONTACT_FIELDS",
    "FIELDS",
    "FLAGS",
    "OPERATORS",
    "RULE_KEYS",
    "THEN_KEYS",
    "WEEKDAYS",
    "Vocabulary",
    "load_rules",
    "rule_files",
]

RULE_KEYS = ("name", "description", "on", "when", "then", "stop", "enabled")


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


class _Checker(ConditionReader, ActionReader):
    """Turns one YAML document into rules, collecting problems instead of stopping."""

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
                self.problem((*loc, key), f"unknown rule key '{key}'", closest(key, RULE_KEYS))
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            self.problem(loc, "a rule needs a name", "name: Sistema fora do ar é crítico")
            name = "?"
        runs_on = self.occasions((*loc, "on"), data["on"]) if "on" in data else DEFAULT_OCCASIONS
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
            runs_on=runs_on,
        )
