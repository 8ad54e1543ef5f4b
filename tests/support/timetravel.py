"""Time travel for lifecycle tests: the gateway built in-process on a fixed clock.

Tickets are opened through the real intake with a `FixedClock` in the past,
so every later `scheduler run-once --now` instant is also in the past and
the outbox (which sends what is due by the wall clock) sends what the sweep
queued. The analyst's side (first answer, "waiting for the customer") is
played through `LifecycleActions`, the same functions agent commands use.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from gateway.config.settings import load_settings
from gateway.domain import TicketRef, TicketStatus
from gateway.domain.clock import FixedClock
from gateway.runtime.app import Gateway, build
from storage.lifecycle import LifecycleStore
from storage.records import TimerRecord
from tests.support.gateway_process import SECRET, GatewayConfig
from tests.support.mailfiles import simple_mail


@contextmanager
def gateway_at(config: GatewayConfig, at: datetime) -> Iterator[Gateway]:
    os.environ["TICKETGATE_SECRET"] = SECRET
    gateway = build(load_settings(config.path), clock=FixedClock(at))
    try:
        yield gateway
    finally:
        gateway.close()


def open_ticket(config: GatewayConfig, at: datetime, subject: str = "Boletos") -> TicketRef:
    raw = simple_mail("Maria Souza <maria@alfa.edu.br>", subject, "Os boletos não saem.")
    with gateway_at(config, at) as gateway:
        receipt = gateway.intake.receive(raw, None, "ingest")
    assert receipt.ticket is not None, receipt
    return receipt.ticket


def receive(config: GatewayConfig, at: datetime, raw: bytes) -> Any:
    with gateway_at(config, at) as gateway:
        return gateway.intake.receive(raw, None, "ingest")


def analyst(
    config: GatewayConfig,
    ref: TicketRef,
    at: datetime,
    *,
    answered: bool = True,
    status: TicketStatus | None = None,
    cause: str = "pedimos o print do erro",
) -> None:
    """Play the analyst until tests send real agent mail: answer, then change the status."""
    with gateway_at(config, at) as gateway, gateway.db.transaction() as session:
        if answered:
            gateway.lifecycle.agent_responded(session, ref, at, "ana@example.com")
        if status is not None:
            gateway.lifecycle.change_status(
                session, ref, status, at, actor="ana@example.com", cause=cause
            )


def timers(config: GatewayConfig, ref: TicketRef) -> list[TimerRecord]:
    with gateway_at(config, datetime.now().astimezone()) as gateway, gateway.db.transaction() as s:
        return LifecycleStore(s).timers(ref)


def run_once(config: GatewayConfig, at: datetime) -> dict[str, int]:
    result = config.cli("scheduler", "run-once", "--now", at.isoformat(), "--json")
    return dict(json.loads(result.stdout)["fired"])


def flush(config: GatewayConfig, at: datetime | None = None) -> None:
    """Send what is queued; `at` sends what is due at that instant (mail queued by a clock
    set after the wall clock's)."""
    config.cli("outbox", "flush", *(("--now", at.isoformat()) if at else ()))
