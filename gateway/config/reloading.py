"""Admin-edited files that `serve` picks up without a restart.

Each watched source keeps the last good value. A change is noticed by
comparing file names, sizes and modification times (cheap enough to check
for every message and on a short timer) and acted on once the files have
settled, since editors save in steps; the new files are then loaded and
validated whole, and only then swapped in with one reference assignment, so a
message is triaged either by the old set or by the new one, never a mix. A
broken edit is refused: the previous value stays, and the problems are
reported once to the `on_error` callback (log and admin mail).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Generic, TypeVar

from gateway.config.settings import load_directory
from gateway.domain import Directory
from rules.engine import RuleSet
from rules.loader import Vocabulary, load_rules, rule_files
from rules.sourcefile import SourceFileError

log = logging.getLogger(__name__)

T = TypeVar("T")
SETTLE_NS = 300_000_000  # a file younger than this may be half-written
# An editor that truncates and then stalls leaves an empty file: take emptiness as meant
# only once it has lasted this long, never as a rule set that silently lost every rule.
EMPTY_SETTLE_NS = 5_000_000_000
Fingerprint = tuple[tuple[str, int, int], ...]


def fingerprint(paths: Iterable[Path]) -> Fingerprint:
    out = []
    for path in paths:
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        out.append((str(path), stat.st_size, stat.st_mtime_ns))
    return tuple(out)


class Watched(Generic[T]):
    """A value loaded from files, reloaded when their fingerprint changes."""

    def __init__(
        self,
        name: str,
        files: Callable[[], Iterable[Path]],
        load: Callable[[], T],
        on_error: Callable[[str, SourceFileError], None] | None = None,
    ) -> None:
        self.name = name
        self._files = files
        self._load = load
        self._on_error = on_error or (lambda _name, _exc: None)
        self._lock = threading.Lock()
        self._seen = self._fingerprint()
        self._current = load()  # a broken file at start-up stops start-up
        self._last_error: str | None = None
        self.reloads = {"applied": 0, "refused": 0}  # since start-up, for /metrics

    def _fingerprint(self) -> tuple[Fingerprint, ...]:
        return (fingerprint(self._files()), *self._dependencies())

    def _dependencies(self) -> tuple[Fingerprint, ...]:
        return ()

    def refresh(self) -> T:
        """The current value, reloaded first if the files changed since last time."""
        seen = self._fingerprint()
        if seen == self._seen or self._still_being_written(seen):
            return self._current
        with self._lock:
            if seen == self._seen:
                return self._current
            try:
                value = self._load()
            except SourceFileError as exc:
                self._seen = seen
                self.reloads["refused"] += 1
                text = str(exc)
                if text != self._last_error:
                    self._last_error = text
                    log.error(
                        "%s edit refused, the previous version stays active:\n%s", self.name, text
                    )
                    self._on_error(self.name, exc)
                return self._current
            self._current, self._seen, self._last_error = value, seen, None
            self.reloads["applied"] += 1
            log.info("%s reloaded", self.name)
            return value

    @staticmethod
    def _still_being_written(seen: tuple[Fingerprint, ...]) -> bool:
        """Editors save in steps (truncate, write); wait until the files have settled."""
        now = time.time_ns()
        entries = [entry for group in seen for entry in group]
        newest = max((mtime for _, _, mtime in entries), default=0)
        emptied = any(size == 0 and now - mtime < EMPTY_SETTLE_NS for _, size, mtime in entries)
        return now - newest < SETTLE_NS or emptied

    def __call__(self) -> T:
        return self.refresh()


TemplateNames = Callable[[], Mapping[str, Iterable[str]]]


def template_files(folder: Path | None) -> list[Path]:
    """The admin's templates folder and everything in it: a template added, removed or
    renamed changes what `reply_with` may name."""
    if folder is None or not folder.is_dir():
        return []
    return [folder, *sorted(folder.rglob("*"))]


def watch_directory(
    path: Path,
    on_error: Callable[[str, SourceFileError], None] | None = None,
    rules_folder: Path | None = None,
    templates: TemplateNames | None = None,
) -> Watched[Directory]:
    """The directory; an edit the current rules do not validate against is refused too,
    so rules and directory never disagree (a rule naming a queue that was removed)."""

    def load() -> Directory:
        directory = load_directory(path)
        if rules_folder is not None:
            load_rules(rules_folder, Vocabulary.of(directory, templates() if templates else {}))
        return directory

    return Watched("directory.yaml", lambda: [path], load, on_error)


def watch_rules(
    folder: Path,
    directory_path: Path,
    directory: Callable[[], Directory],
    templates: TemplateNames,
    on_error: Callable[[str, SourceFileError], None] | None = None,
    templates_folder: Path | None = None,
) -> Watched[RuleSet]:
    """The rules folder; re-validated when the directory changes (rules name queues) or
    the templates folder does (`reply_with` names templates, re-read on each load)."""

    class _Rules(Watched[RuleSet]):
        def _dependencies(self) -> tuple[Fingerprint, ...]:
            return (fingerprint([directory_path]), fingerprint(template_files(templates_folder)))

    return _Rules(
        "rules",
        lambda: [folder, *rule_files(folder)],
        lambda: load_rules(folder, Vocabulary.of(directory(), templates())),
        on_error,
    )
