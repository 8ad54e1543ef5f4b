"""The admin's label table (`labels.yaml`): their own names for queues, statuses,
categories, priorities and environments, per locale.

Keyed by locale, then kind (gateway/domain/labels.py `LabelKind`), then id:

    pt_BR:
      status: {waiting_customer: "aguardando sua resposta"}
      agent_status: {waiting_customer: "cliente precisa responder"}
      priority: {0: urgente}
      queue: {n1: "Atendimento"}

It is laid over the built-in table (gateway/mail/labels.py, handed in as `defaults`,
since this room does not read the mail room), so an id left out keeps its built-in
label. A locale, kind or id the gateway does not know, or a label that is not text, is
a `file:line:column` problem (rules/sourcefile.py). A queue id must be one of
directory.yaml's. A missing file is the built-in table. Hot-reloaded like policy.yaml:
a broken edit is refused and the previous table stays.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from pathlib import Path

from gateway.config.reloading import Fingerprint, Watched, fingerprint
from gateway.domain import Directory
from gateway.domain.labels import LabelKind, LabelTable
from rules.sourcefile import Loc, Located, Problem, SourceFileError, load_yaml

KINDS = ", ".join(kind.value for kind in LabelKind)


def load_labels(
    path: Path, defaults: LabelTable, queue_ids: Collection[str] | None = None
) -> LabelTable:
    """`defaults` with the labels of `path` laid over; `queue_ids` (directory.yaml's) are
    the queues it may name, any id when None."""
    if not path.exists():
        return defaults
    located = load_yaml(path)
    problems: list[Problem] = []
    table: dict[str, dict[LabelKind, dict[str, str]]] = {}
    for locale, kinds in _mapping(located, (), located.data, problems, "the file").items():
        if locale not in defaults.locales:
            problems.append(located.problem(
                (locale,), f"unknown locale '{locale}' (use {' or '.join(defaults.locales)})"
            ))  # fmt: skip
            continue
        for kind_name, ids in _mapping(located, (locale,), kinds, problems, locale).items():
            try:
                kind = LabelKind(str(kind_name))
            except ValueError:
                problems.append(located.problem(
                    (locale, kind_name), f"unknown kind '{kind_name}' (use {KINDS})"
                ))  # fmt: skip
                continue
            loc = (locale, kind_name)
            entries = _mapping(located, loc, ids, problems, f"{locale}.{kind}")
            known = _known(defaults, locale, kind, queue_ids)
            for id_, label in entries.items():
                _add(located, (*loc, id_), kind, str(id_), label, known, problems, table)
    if problems:
        raise SourceFileError(sorted(problems, key=lambda p: (p.line, p.column)))
    return LabelTable(table).over(defaults)


def _known(
    defaults: LabelTable, locale: str, kind: LabelKind, queue_ids: Collection[str] | None
) -> Collection[str] | None:
    """The ids `kind` may name: the built-in ones, directory.yaml's for queues."""
    if kind is LabelKind.QUEUE:
        return queue_ids
    return defaults.ids(locale, kind)


def _add(
    located: Located,
    loc: Loc,
    kind: LabelKind,
    id_: str,
    label: object,
    known: Collection[str] | None,
    problems: list[Problem],
    table: dict[str, dict[LabelKind, dict[str, str]]],
) -> None:
    if known is not None and id_ not in known:
        choices = ", ".join(sorted(known)) or "none"
        problems.append(located.problem(loc, f"unknown {kind} '{id_}' (known: {choices})"))
    elif not isinstance(label, str):
        shown = "nothing" if label is None else type(label).__name__
        problems.append(located.problem(
            loc, f"the label of {kind} '{id_}' must be text in quotes, not {shown}"
        ))  # fmt: skip
    elif not label.strip():
        problems.append(located.problem(loc, f"the label of {kind} '{id_}' is empty"))
    else:
        table.setdefault(str(loc[0]), {}).setdefault(kind, {})[id_] = " ".join(label.split())


def _mapping(
    located: Located, loc: Loc, value: object, problems: list[Problem], what: str
) -> dict[str | int, object]:
    """`value` as a mapping; anything else is a problem (an empty entry is no labels)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.append(located.problem(
            loc, f"{what} must be a mapping (key: value lines), not {type(value).__name__}"
        ))  # fmt: skip
        return {}
    return value


def watch_labels(
    path: Path,
    defaults: LabelTable,
    directory_path: Path,
    directory: Callable[[], Directory],
    on_error: Callable[[str, SourceFileError], None] | None = None,
) -> Watched[LabelTable]:
    """labels.yaml, reloaded when it changes and re-checked when the directory does (it
    names queues); a broken edit keeps the previous table."""

    class _Labels(Watched[LabelTable]):
        def _dependencies(self) -> tuple[Fingerprint, ...]:
            return (fingerprint([directory_path]),)

    def load() -> LabelTable:
        return load_labels(path, defaults, [q.id for q in directory().queues])

    return _Labels("labels.yaml", lambda: [path], load, on_error)
