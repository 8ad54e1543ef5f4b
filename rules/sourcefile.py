"""Admin-edited files (TOML, YAML) loaded with positions, for `file:line:` errors.

Admins edit the config, the directory and the rules by hand; a mistake must
point at the line to fix. This module keeps each loaded value's position and
turns pydantic validation errors into `file:line:col: message` problems.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

Loc = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Problem:
    """One mistake in one file, at a line (1-based) and column (1-based)."""

    path: Path
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.message}"


class SourceFileError(Exception):
    """A file an admin wrote cannot be used; carries every problem found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass(frozen=True)
class Located:
    """Parsed data plus a way to find where any part of it was written."""

    path: Path
    data: Any
    positions: dict[Loc, tuple[int, int]]

    def position(self, loc: Loc) -> tuple[int, int]:
        """The closest known position for `loc`, walking up to its parents."""
        for end in range(len(loc), -1, -1):
            found = self.positions.get(tuple(loc[:end]))
            if found:
                return found
        return (1, 1)

    def problem(self, loc: Loc, message: str) -> Problem:
        line, column = self.position(loc)
        return Problem(self.path, line, column, message)


def load_yaml(path: Path) -> Located:
    """Load one YAML document keeping positions of every key and item."""
    documents = load_yaml_documents(path)
    if len(documents) > 1:
        raise SourceFileError([Problem(path, 1, 1, "expected one YAML document, found several")])
    return documents[0] if documents else Located(path, None, {})


def load_yaml_documents(path: Path) -> list[Located]:
    """Every document of a multi-document YAML file, each with positions."""
    text = _read(path)
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise SourceFileError(
            [Problem(path, line, col, f"YAML syntax error: {exc.problem or exc}")]
        ) from exc
    located = []
    for node in nodes:
        positions: dict[Loc, tuple[int, int]] = {}
        data = _construct(node, (), positions) if node is not None else None
        located.append(Located(path, data, positions))
    return located


def _construct(node: yaml.Node, loc: Loc, positions: dict[Loc, tuple[int, int]]) -> Any:
    positions.setdefault(loc, (node.start_mark.line + 1, node.start_mark.column + 1))
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _key(key_node)  # scalar keys only
            positions[(*loc, key)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            value = _construct(value_node, (*loc, key), positions)
            positions[(*loc, key)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            result[key] = value
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, (*loc, i), positions) for i, item in enumerate(node.value)]
    return yaml.SafeLoader(b"").construct_object(node)


# YAML 1.1 reads these bare words as booleans; as a key (a rule's `on:`) they mean the word.
_WORD_KEYS = ("on", "off", "yes", "no")


def _key(node: yaml.Node) -> Any:
    """A mapping key as the admin wrote it: a bare `on` is the word, not `True`."""
    if (
        isinstance(node, yaml.ScalarNode)
        and node.tag == "tag:yaml.org,2002:bool"
        and not node.style
        and node.value.lower() in _WORD_KEYS
    ):
        return node.value
    return yaml.SafeLoader(b"").construct_object(node)


def load_toml(path: Path) -> Located:
    """Load a TOML file; positions come from a light scan of its lines."""
    text = _read(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        line, col = (int(match.group(1)), int(match.group(2))) if match else (1, 1)
        if "(at end of document)" in str(exc):
            line, col = text.count("\n") + 1, 1
        message = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", str(exc))
        raise SourceFileError([Problem(path, line, col, f"TOML syntax error: {message}")]) from exc
    return Located(path, data, dict(_toml_positions(text)))


_TABLE = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-]+)\s*\]\]?")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+)\s*=")


def _toml_positions(text: str) -> Iterator[tuple[Loc, tuple[int, int]]]:
    table: Loc = ()
    array_counts: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        header = _TABLE.match(line)
        if header:
            name = header.group(2)
            if header.group(1) == "[[":
                index = array_counts.get(name, 0)
                array_counts[name] = index + 1
                yield (name,), (number, 1)
                table = (name, index)
            else:
                table = tuple(name.split("."))
            yield table, (number, 1)
            continue
        key = _KEY.match(line)
        if key:
            yield (*table, key.group(1)), (number, line.index(key.group(1)) + 1)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise SourceFileError([Problem(path, 1, 1, "file not found")]) from exc
    except UnicodeDecodeError as exc:
        raise SourceFileError([Problem(path, 1, 1, f"not UTF-8 text: {exc.reason}")]) from exc


def validate(model: type[M], located: Located, data: Any = None) -> M:
    """Validate `located.data` (or `data`) with `model`; errors carry file:line."""
    try:
        return model.model_validate(located.data if data is None else data)
    except ValidationError as exc:
        raise SourceFileError(problems_from(exc, located)) from exc


def problems_from(exc: ValidationError, located: Located, prefix: Loc = ()) -> list[Problem]:
    problems = []
    for error in exc.errors():
        loc: Loc = (*prefix, *error["loc"])
        if error["type"] == "extra_forbidden":
            message = f"unknown key '{loc[-1]}'"
        else:
            message = f"{_dotted(loc)}: {error['msg']}" if loc else error["msg"]
        problems.append(located.problem(loc, message))
    return sorted(problems, key=lambda p: (p.line, p.column))


def _dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
