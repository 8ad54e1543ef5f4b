"""The shipped default rule set triages realistic customer mail as a support team would.

Each `.eml` under tests/fixtures/mail/triage is a new mail from a demo contact, written
the way Gmail, Outlook, the iPhone and Thunderbird send it; expected.yaml next to them
holds the full triage a support person would give it, with a one-line reason.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from gateway.config.settings import load_directory
from gateway.domain import Directory, TriageOutcome
from gateway.intake.steps import triage_input
from gateway.mail.labels import brand
from inbound.mime import parse_message
from inbound.reply_text import new_text
from outbound.compose import Templates
from rules.engine import DEFAULT_OCCASIONS, RuleSet
from rules.loader import Vocabulary, load_rules

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "mail" / "triage"
EXPECTED_FILE = FIXTURES / "expected.yaml"
TRIAGE_KEYS = ("category", "priority", "queue", "environment", "tags")
# A Tuesday morning in business hours; the default rules do not look at the clock.
LOCAL_TIME = datetime(2026, 11, 24, 10, 0, tzinfo=ZoneInfo("America/Sao_Paulo"))


def _expected() -> dict[str, dict[str, Any]]:
    data = yaml.safe_load(EXPECTED_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{EXPECTED_FILE} must map file names to triages"
    return data


EXPECTED = _expected()
FIXTURE_NAMES = sorted(p.name for p in FIXTURES.glob("*.eml"))


@pytest.fixture(scope="module")
def directory() -> Directory:
    return load_directory(ROOT / "gateway" / "demo" / "directory.yaml")


@pytest.fixture(scope="module")
def default_rules(directory: Directory) -> RuleSet:
    vocabulary = Vocabulary.of(directory, Templates(brand=brand("", "")).rule_templates("pt_BR"))
    return load_rules(ROOT / "rules" / "default", vocabulary)


def _triage_of(outcome: TriageOutcome) -> dict[str, Any]:
    t = outcome.triage
    return {
        "category": t.category,
        "priority": int(t.priority),
        "queue": t.queue,
        "environment": t.environment,
        "tags": list(t.tags),
    }


def _explain(outcome: TriageOutcome) -> str:
    if not outcome.matches:
        return "  no rule matched; the defaults apply"
    lines = []
    for match in outcome.matches:
        lines.append(f"  {match.file}:{match.line}: {match.name} (sets {', '.join(match.sets)})")
        lines.extend(f"      because {why}" for why in match.why)
    return "\n".join(lines)


def test_every_fixture_has_an_expected_triage_and_vice_versa() -> None:
    assert FIXTURE_NAMES, f"no fixtures in {FIXTURES}"
    missing = sorted(set(FIXTURE_NAMES) - set(EXPECTED))
    stale = sorted(set(EXPECTED) - set(FIXTURE_NAMES))
    assert not missing, f"fixtures without an entry in expected.yaml: {missing}"
    assert not stale, f"expected.yaml entries without a fixture file: {stale}"
    for name, entry in EXPECTED.items():
        keys = set(entry)
        assert keys == {*TRIAGE_KEYS, "why"}, f"{name}: keys {sorted(keys)}"
        assert isinstance(entry["why"], str) and entry["why"].strip(), f"{name}: empty why"


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_default_rules_triage_fixture_as_expected(
    name: str, directory: Directory, default_rules: RuleSet
) -> None:
    msg = parse_message((FIXTURES / name).read_bytes())
    assert msg.sender is not None and msg.sender.address == "maria@alfa.edu.br"
    subject = triage_input(
        msg,
        new_text(msg.text_body, msg.html_body),
        directory,
        is_new=True,
        local_time=LOCAL_TIME,
        in_business_hours=True,
    )
    outcome = default_rules.evaluate(subject)
    expected = {key: EXPECTED[name][key] for key in TRIAGE_KEYS}
    got = _triage_of(outcome)
    assert got == expected, (
        f"{name} ({msg.subject!r}) was triaged differently than expected\n"
        f"  why expected: {EXPECTED[name]['why']}\n"
        f"  expected: {expected}\n"
        f"  got:      {got}\n"
        f"matched rules:\n{_explain(outcome)}"
    )
    assert not (outcome.ignore or outcome.reject_with), f"{name}: ignored or rejected"


def test_the_default_rules_triage_new_mail_only(
    directory: Directory, default_rules: RuleSet
) -> None:
    """Without `on:` they never re-triage a reply, so an agent's changes stand."""
    assert all(rule.runs_on == DEFAULT_OCCASIONS for rule in default_rules.rules)
    msg = parse_message((FIXTURES / "fora_do_ar_gmail_ptbr.eml").read_bytes())
    reply = triage_input(
        msg,
        new_text(msg.text_body, msg.html_body),
        directory,
        is_new=False,
        local_time=LOCAL_TIME,
        in_business_hours=True,
    )
    assert default_rules.evaluate(reply).matches == ()
    assert "Sistema fora do ar ou produção parada é crítico" in [
        rule.name for rule in default_rules.held_back(reply)
    ]


def test_rules_test_cli_with_the_demo_config_gives_the_expected_triage(tmp_path: Path) -> None:
    name = "boletos_nao_saem_thunderbird_ptbr.eml"
    env = {
        k: v for k, v in os.environ.items() if k not in ("TICKETGATE_CONFIG", "TICKETGATE_SECRET")
    }
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "rules", "test", str(FIXTURES / name), "--json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert (tmp_path / "var" / "rules").is_dir(), "the demo rules were not written under ./var/"
    assert shown["treated_as"] == "new"
    expected = {key: EXPECTED[name][key] for key in TRIAGE_KEYS}
    assert shown["triage"] == expected, json.dumps(shown["matches"], ensure_ascii=False, indent=2)
    names = [m["name"] for m in shown["matches"]]
    assert "Sistema fora do ar ou produção parada é crítico" in names
