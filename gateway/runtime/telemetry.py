"""`/metrics` in Prometheus' text format, through prometheus-client (the one module that
imports it).

Two kinds of figures: what the store knows (tickets by status, mail by outcome,
outbox depth and the age of its oldest mail, failing sends, fired SLA timers),
read at scrape time so every instance reports the same truth; and what only this
process sees (intake latency, rules/directory/policy reloads since start-up).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from gateway.domain import Clock
from storage.db import Database
from storage.lifecycle import LifecycleStore
from storage.repository import Outbox, ReceiptLedger, TicketRepository

# End of DATA to commit: most mail takes milliseconds; a slow store shows in the top buckets.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Telemetry:
    """The registry of one `serve`: store figures plus this process's own instruments."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        reloads: Callable[[], Mapping[str, Mapping[str, int]]] = dict,
    ) -> None:
        self.registry = CollectorRegistry()
        self.intake_seconds = Histogram(
            "ticketgate_intake_seconds",
            "Time from a whole message received to its decision committed.",
            ["channel"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_StoreFigures(db, clock, reloads))

    def render(self) -> str:
        return generate_latest(self.registry).decode()


class _StoreFigures(Collector):
    def __init__(
        self,
        db: Database,
        clock: Clock,
        reloads: Callable[[], Mapping[str, Mapping[str, int]]],
    ) -> None:
        self.db = db
        self.clock = clock
        self.reloads = reloads

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        with self.db.transaction() as session:
            tickets = TicketRepository(session).count_by_status()
            outbox = Outbox(session)
            depth, oldest, failing = (
                outbox.counts(),
                outbox.oldest_waiting_since(),
                outbox.failing_counts(),
            )
            received = ReceiptLedger(session).count_by_outcome()
            fired = LifecycleStore(session).fired_counts()
        yield _family(
            GaugeMetricFamily, "ticketgate_tickets", "Tickets by status.", "status", tickets
        )
        yield _family(
            GaugeMetricFamily, "ticketgate_outbox", "Outbox mail by state.", "state", depth
        )
        yield GaugeMetricFamily(
            "ticketgate_outbox_oldest_seconds",
            "Age of the oldest mail not yet handed to the relay (0: none waits).",
            value=_age(oldest, self.clock.now()),
        )
        yield _family(
            GaugeMetricFamily, "ticketgate_outbox_failing",
            "Outbox mail whose last try failed: retrying (pending) or given up (failed).",
            "state", failing,
        )  # fmt: skip
        yield _family(
            CounterMetricFamily, "ticketgate_received", "Inbound mail by outcome.", "outcome",
            received,
        )  # fmt: skip
        yield CounterMetricFamily(
            "ticketgate_sla_breaches", "SLA breach notices fired.", value=fired.get("sla_breach", 0)
        )
        yield _family(
            CounterMetricFamily, "ticketgate_timers_fired", "Lifecycle timers fired, by kind.",
            "kind", fired,
        )  # fmt: skip
        reloads = CounterMetricFamily(
            "ticketgate_reloads",
            "Edits of the admin's files since start-up: applied or refused.",
            labels=["file", "result"],
        )
        for name, counts in self.reloads().items():
            for result, n in counts.items():
                reloads.add_metric([name, result], n)
        yield reloads


def _family(
    kind: type[GaugeMetricFamily] | type[CounterMetricFamily],
    name: str,
    documentation: str,
    label: str,
    counts: Mapping[str, int],
) -> GaugeMetricFamily | CounterMetricFamily:
    family = kind(name, documentation, labels=[label])
    for key, value in sorted(counts.items()):
        family.add_metric([key], value)
    return family


def _age(since: datetime | None, now: datetime) -> float:
    return max(0.0, (now - since).total_seconds()) if since else 0.0
