"""An agreed date (`#prazo`) and a resolution outcome (`#desfecho`), end to end (issue 10).

Ana answers from Outlook, to the signed Reply-To of her notification, with the date she
agreed with Maria; the answer shows it to Maria, `scheduler run-once --now` reminds Ana
before it and tells her at it; resolving with an outcome sends Maria the outcome's
paragraph. The clock is fixed (tests/support/timetravel.py) and every flush sends what is
due at the test's instant, so the dates may lie after the wall clock's.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.test_agents import outlook_reply
from tests.support.gateway_process import GatewayConfig
from tests.support.sink import SmtpSink, SunkMail
from tests.support.timetravel import flush, open_ticket, receive, run_once

pytestmark = pytest.mark.e2e

SP = ZoneInfo("America/Sao_Paulo")
MARIA, ANA, CARLOS = "maria@alfa.edu.br", "ana@example.com", "carlos@example.com"
# A long resolution target, so only the agreed date's timers fire in the week of the test.
POLICY = "sla:\n  targets:\n    3: {resolution: 10d}\n"


def sp(*args: int) -> datetime:
    return datetime(*args, tzinfo=SP)  # type: ignore[misc]


def agent_replies(config: GatewayConfig, notification: SunkMail, at: datetime, top: str) -> None:
    receipt = receive(config, at, outlook_reply(notification, top))
    assert receipt.outcome.value == "threaded", receipt
    flush(config, at)


def sla_subjects(sink: SmtpSink, address: str) -> list[str]:
    return [m.header("Subject") for m in sink.to(address) if "[SLA" in m.header("Subject")]


def test_agreed_date_reminds_the_assignee_and_the_outcome_reaches_the_customer(
    gateway_config: GatewayConfig, sink: SmtpSink
) -> None:
    config = gateway_config
    (config.folder / "policy.yaml").write_text(POLICY, encoding="utf-8")
    opened_at = sp(2026, 12, 7, 9)  # Monday
    ref = open_ticket(config, opened_at)
    flush(config, opened_at)
    notification = sink.to(ANA)[-1]

    # Ana takes it and promises Thursday 17:00 in the ticket's zone.
    agent_replies(
        config, notification, sp(2026, 12, 7, 10),
        "#prazo 10/12/2026 17:00\n#atribuir eu\n\nOlá Maria, a correção sai até quinta-feira.",
    )  # fmt: skip
    answer = sink.to(MARIA)[-1]
    assert answer.header("Subject").startswith(f"[#{ref}] Re:")
    assert "a correção sai até quinta-feira" in answer.text and "#prazo" not in answer.text
    assert "Prazo combinado para a solução: 10/12/2026 17:00 (BRT)." in answer.text
    shown = config.cli_json("tickets", "show", str(ref))
    assert (shown["due_at"], shown["assignee"]) == ("2026-12-10T17:00:00-03:00", ANA)
    assert shown["outcome"] is None

    # An hour of business time before the date, the assignee (only) is reminded ...
    assert run_once(config, sp(2026, 12, 10, 15, 59)) == {}
    assert run_once(config, sp(2026, 12, 10, 16)) == {"due_warning": 1}
    assert run_once(config, sp(2026, 12, 10, 16)) == {}
    flush(config, sp(2026, 12, 10, 16))
    [warning] = sla_subjects(sink, ANA)
    assert "solução combinada com o cliente vence em 10/12/2026 17:00" in warning
    # ... and told at it.
    assert run_once(config, sp(2026, 12, 10, 17)) == {"due_breached": 1}
    flush(config, sp(2026, 12, 10, 17))
    breach = sink.to(ANA)[-1]
    assert "prazo de solução combinada com o cliente vencido" in breach.header("Subject")
    assert "venceu em 10/12/2026 17:00" in breach.text
    assert sla_subjects(sink, CARLOS) == [] and sla_subjects(sink, MARIA) == []

    # Resolved with an outcome, by commands alone: the resolution mail carries its paragraph.
    before = len(sink.to(MARIA))
    agent_replies(config, notification, sp(2026, 12, 10, 17, 30),
                  "#status resolvido\n#desfecho roadmap")  # fmt: skip
    [resolved] = sink.to(MARIA)[before:]
    assert "resolvido" in resolved.header("Subject")
    assert "Desfecho: o seu pedido entrou no roadmap do produto." in resolved.text
    assert "Prazo combinado para a solução: 10/12/2026 17:00 (BRT)." in resolved.text
    shown = config.cli_json("tickets", "show", str(ref))
    assert (shown["status"], shown["outcome"]) == ("resolved", "roadmap")
    assert shown["due_at"] == "2026-12-10T17:00:00-03:00"
    changed = [e["data"] for e in shown["events"] if e["kind"] == "field_changed"]
    assert {"field": "outcome", "old": None, "new": "roadmap"} in changed
    assert any(c["field"] == "due_at" for c in changed)
    assert run_once(config, sp(2026, 12, 14, 9)) == {}  # resolved: nothing more for the date
