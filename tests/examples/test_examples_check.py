"""Every shipped example is valid as it is: `ticketgate rules check` on its own
ticketgate.toml (config, directory, rules with their templates, policy) exits 0."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NAMES = sorted(p.name for p in EXAMPLES.iterdir() if (p / "ticketgate.toml").exists())


def test_there_is_one_example_per_seed() -> None:
    assert [name[:3] for name in NAMES] == ["000", "001", "002", "003", "004"]


@pytest.mark.parametrize("name", NAMES)
def test_rules_check_passes_on_the_example_as_shipped(name: str) -> None:
    config = EXAMPLES / name / "ticketgate.toml"
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "--config", str(config), "rules", "check"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "policy (" in result.stdout and "valid" in result.stdout
    readme = (EXAMPLES / name / "README.md").read_text(encoding="utf-8")
    assert "| policy (pt-BR) | English gloss |" in readme
