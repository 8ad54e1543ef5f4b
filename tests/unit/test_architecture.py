"""The import rules of the README's architecture section, checked on the tree.

Arrows point one way: the domain imports nothing of the project; the edge
packages (inbound, outbound, rules, storage) import only the domain; the
rooms of `gateway/` import only the rooms below them; nothing imports the
wiring (runtime, cli). A new import that breaks a rule fails here, with the
file and the import named.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("gateway", "inbound", "outbound", "rules", "storage")
EDGES = {"inbound", "outbound", "rules", "storage"}
# What each room may import besides itself (the domain may import only itself).
ALLOWED: dict[str, set[str]] = {
    "gateway.domain": set(),
    "storage": {"gateway.domain"},
    "inbound": {"gateway.domain"},
    "outbound": {"gateway.domain"},
    "rules": {"gateway.domain"},
    "gateway.config": {"gateway.domain", "rules"},
    "gateway.mail": {"gateway.domain", "outbound", "storage"},
    "gateway.lifecycle": {"gateway.domain", "gateway.mail", "storage"},
    "gateway.intake": {"gateway.domain", "gateway.mail", "gateway.lifecycle", *EDGES},
    "gateway.runtime": {
        "gateway.domain", "gateway.config", "gateway.mail", "gateway.lifecycle",
        "gateway.intake", *EDGES,
    },
    "gateway.cli": {
        "gateway.domain", "gateway.config", "gateway.mail", "gateway.lifecycle",
        "gateway.intake", "gateway.runtime", *EDGES,
    },
    "gateway": {"gateway.cli"},  # `python -m gateway`
}  # fmt: skip


def room_of(module: str) -> str:
    parts = module.split(".")
    if parts[0] == "gateway" and len(parts) > 1 and f"gateway.{parts[1]}" in ALLOWED:
        return f"gateway.{parts[1]}"
    return parts[0]


def modules() -> list[tuple[Path, str]]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found.append((path, name.removesuffix(".__init__")))
    return found


def project_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return {n for n in names if n.split(".")[0] in PACKAGES}


@pytest.mark.parametrize(("path", "module"), modules(), ids=lambda v: str(v))
def test_imports_point_one_way(path: Path, module: str) -> None:
    room = room_of(module)
    wrong = sorted(
        imported
        for imported in project_imports(path)
        if room_of(imported) != room and room_of(imported) not in ALLOWED[room]
    )
    assert not wrong, f"{path.relative_to(ROOT)} ({room}) may not import {wrong}"


def test_every_module_is_under_400_lines() -> None:
    long = [
        f"{path.relative_to(ROOT)}: {n}"
        for path, _ in modules()
        if (n := len(path.read_text().splitlines())) > 400
    ]
    assert not long
