"""The label table: what a queue, status, category, priority or environment id is called
in each locale, as a plain value.

The built-in table is in gateway/mail/labels.py; the admin's `labels.yaml`
(gateway/config/labels_file.py) is laid over it; `Words` reads the merged table.
Customers and agents read different status words (`status` and `agent_status`):
"aguardando o seu retorno" to the customer is "aguardando cliente" to the agent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType


class LabelKind(StrEnum):
    """What an id names; the second level of `labels.yaml`."""

    QUEUE = "queue"
    STATUS = "status"  # as the customer reads it
    AGENT_STATUS = "agent_status"  # as the agent reads it
    CATEGORY = "category"
    PRIORITY = "priority"
    ENVIRONMENT = "environment"


Entries = Mapping[str, Mapping[LabelKind, Mapping[str, str]]]


def _frozen(entries: Entries) -> Entries:
    return MappingProxyType(
        {
            locale: MappingProxyType(
                {kind: MappingProxyType(dict(ids)) for kind, ids in kinds.items()}
            )
            for locale, kinds in entries.items()
        }
    )


@dataclass(frozen=True)
class LabelTable:
    """Per locale, per kind, the label of each id (ids as strings: priority "0")."""

    entries: Entries = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "entries", _frozen(self.entries))

    def label(self, locale: str, kind: LabelKind, id_: str) -> str | None:
        return self.entries.get(locale, {}).get(kind, {}).get(id_)

    def ids(self, locale: str, kind: LabelKind) -> frozenset[str]:
        return frozenset(self.entries.get(locale, {}).get(kind, {}))

    @property
    def locales(self) -> tuple[str, ...]:
        return tuple(self.entries)

    def over(self, base: LabelTable) -> LabelTable:
        """This table's labels laid over `base`'s: an id this table names wins."""
        merged: dict[str, dict[LabelKind, dict[str, str]]] = {
            locale: {kind: dict(ids) for kind, ids in kinds.items()}
            for locale, kinds in base.entries.items()
        }
        for locale, kinds in self.entries.items():
            for kind, ids in kinds.items():
                merged.setdefault(locale, {}).setdefault(kind, {}).update(ids)
        return LabelTable(merged)
