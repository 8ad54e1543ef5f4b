"""Called by the loader for each rule's `then`: reads it into engine Settings, checking each
action's value and its references to queues, agents, contacts and templates.
"""

from __future__ import annotations

import re
from typing import Any

from gateway.domain import CATEGORIES, ENVIRONMENTS, Priority
from rules.engine import Settings
from rules.sourcefile import Loc
from rules.vocabulary import CheckerBase, closest

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


class ActionReader(CheckerBase):
    """Reads `then` actions; mixed into the loader's per-document checker."""

    def settings(self, loc: Loc, data: Any) -> Settings:
        if not isinstance(data, dict):
            self.problem(loc, "'then' must be a mapping", "then: {priority: 1, queue: n2}")
            return Settings()
        v = self.vocabulary
        for key in data:
            if key not in THEN_KEYS:
                self.problem((*loc, key), f"unknown action '{key}'", closest(key, THEN_KEYS))
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


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
