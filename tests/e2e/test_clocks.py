"""Clocks per target, by time travel: a 24×7 first answer beside business-hours
resolution (seed 004), a target switched off with `null`, and a sweep run at a future
instant whose mail `outbox flush --now` at that instant sends (the survey after close).

Same machinery as tests/e2e/test_lifecycle.py: tickets opened on a fixed clock
(tests/support/timetravel.py), sweeps and flushes through the CLI, mail to the real sink.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from gateway.domain import TicketStatus
from tests.support.gateway_process import GatewayConfig
from tests.support.sink import SmtpSink
from tests.support.timetravel import analyst, flush, open_ticket, run_once, timers

pytestmark = pytest.mark.e2e

SP = ZoneInfo("America/Sao_Paulo")
MARIA = "maria@alfa.edu.br"
ANA = "ana@example.com"

SEED_004_POLICY = """\
sla:
  targets:
    3: {first_response: 12h corridas, next_response: null, resolution: 2h}
"""


def sp(*args: int) -> datetime:
    return datetime(*args, tzinfo=SP)  # type: ignore[misc]


def test_a_24x7_first_answer_breaches_at_night_while_resolution_waits_for_monday(
    gateway_config: GatewayConfig, sink: SmtpSink
) -> None:
    config = gateway_config
    (config.folder / "policy.yaml").write_text(SEED_004_POLICY, encoding="utf-8")
    ref = open_ticket(config, sp(2025, 6, 6, 17))  # Friday 17:00
    shown = config.cli_json("tickets", "show", str(ref))
    assert shown["first_response_due"] == "2025-06-07T05:00:00-03:00"  # Saturday 05:00
    assert shown["resolution_due"] == "2025-06-09T09:00:00-03:00"  # Monday 09:00
    assert shown["next_response_due"] is None

    assert run_once(config, sp(2025, 6, 7, 4, 59)) == {}
    assert run_once(config, sp(2025, 6, 7, 5)) == {"sla_breached": 1}  # on the clock, at night
    assert run_once(config, sp(2025, 6, 8, 23, 59)) == {}  # the weekend: business time stands
    assert run_once(config, sp(2025, 6, 9, 8)) == {"sla_warning": 1}  # resolution, 1 h ahead
    assert run_once(config, sp(2025, 6, 9, 9)) == {"sla_breached": 1}
    flush(config)
    [ack] = sink.to(MARIA)
    assert "Primeira resposta prevista até: 07/06/2025 05:00" in ack.text
    notices = [m.header("Subject") for m in sink.to(ANA) if "[SLA" in m.header("Subject")]
    assert len(notices) == 3, notices
    assert "primeira resposta vencido" in notices[0]
    assert "vence em 09/06/2025 09:00" in notices[1]


def test_a_null_first_answer_target_has_no_due_time_and_no_timers(
    gateway_config: GatewayConfig, sink: SmtpSink
) -> None:
    config = gateway_config
    (config.folder / "policy.yaml").write_text(
        "sla: {targets: {3: {first_response: null}}}\n", encoding="utf-8"
    )
    ref = open_ticket(config, sp(2025, 6, 2, 9))
    shown = config.cli_json("tickets", "show", str(ref))
    assert shown["first_response_due"] is None
    assert shown["resolution_due"] == "2025-06-05T09:00:00-03:00"  # the default stays
    assert {t.sla for t in timers(config, ref)} == {"resolution"}
    flush(config)
    [ack] = sink.to(MARIA)
    assert "Primeira resposta" not in ack.text and "Primeira resposta" not in ack.html


def test_a_time_travelled_close_sends_its_survey_with_flush_at_that_instant(
    gateway_config: GatewayConfig, sink: SmtpSink
) -> None:
    config = gateway_config
    future = sp(2031, 6, 2, 9)  # a Monday, years after the wall clock
    ref = open_ticket(config, future)
    analyst(config, ref, sp(2031, 6, 2, 10), status=TicketStatus.RESOLVED, cause="corrigido")
    [close] = [t for t in timers(config, ref) if t.kind == "auto_close" and t.state == "pending"]
    assert run_once(config, close.due) == {"auto_closed": 1}
    flush(config)  # by the wall clock nothing is due yet: every row was queued in 2031
    assert sink.to(MARIA) == []
    flush(config, close.due)
    subjects = [m.header("Subject") for m in sink.to(MARIA)]
    assert len(subjects) == 4, subjects  # ack, resolved, closed, survey
    assert "Pesquisa de satisfação" in subjects[-1]
    assert "/survey/" in sink.to(MARIA)[-1].text
    flush(config, close.due)  # sent once
    assert len(sink.to(MARIA)) == 4
