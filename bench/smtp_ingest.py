"""`smtp-ingest` and `latency`: the same mail over SMTP to the bare sink, the work floor
and `ticketgate serve`, each its own process on the same machine in the same run.

Throughput is mails / wall time; for `serve` the clock stops only when the last
250 is in and every acknowledgement and notification it queued has been handed
to its relay (a bare sink), so deferred work is counted. Latency is end-of-DATA
→ reply, sent open-loop at half of serve's measured c=4 maximum, to serve and
to the floor at that same rate.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

from bench import wire
from bench.mix import generate
from bench.servers import serve, sink
from bench.table import Row, median, percentile
from tests.support.postgres import PostgresCluster

WORKERS = os.cpu_count() or 1  # `serve`'s default [smtp] workers: one process per core


@contextlib.contextmanager
def _target(name: str, folder: Path, storage_url: str = "") -> Iterator[tuple[int, object]]:
    if name.startswith("serve"):
        workers = WORKERS if name == "serve-workers" else 1
        with (
            sink("bare", folder / "relay") as relay,
            serve(folder / name, relay, workers=workers, storage_url=storage_url) as gateway,
        ):
            yield gateway.port, gateway
    else:
        with sink(name, folder / name) as port:
            yield port, None


def _rate(
    name: str, folder: Path, n: int, conns: int, rounds: int, storage_url: str = ""
) -> list[float]:
    """msgs/s of each round (fresh Message-IDs every round)."""
    rates = []
    with _target(name, folder, storage_url) as (port, gateway):
        for r in range(rounds):
            mails = generate(n, f"{name}-c{conns}-r{r}")
            run = wire.send(port, mails, conns)
            if run.accepted + run.codes.get(550, 0) < n * 0.9:
                raise RuntimeError(f"{name}: only {run.codes} of {n}")
            elapsed = run.elapsed
            if gateway is not None:
                start = time.perf_counter()
                gateway.wait_drained()  # type: ignore[attr-defined]
                elapsed += time.perf_counter() - start
            rates.append(n / elapsed)
    return rates


def run(root: Path, n: int, rounds: int, connections: tuple[int, ...]) -> list[Row]:
    rows: list[Row] = []
    serve_c4 = 0.0
    for conns in connections:
        targets = ("bare", "floor", "serve") + (("serve-workers",) if WORKERS > 1 else ())
        got = {t: median(_rate(t, root / f"c{conns}", n, conns, rounds)) for t in targets}
        floor_target = "≥ 0.70 of floor, ≥ 0.25 of bare" if conns == 4 else ""
        rows.append(
            Row(
                f"smtp-ingest c={conns}",
                "serve / floor",
                got["serve"] / got["floor"],
                f"serve {got['serve']:.0f}/s, floor {got['floor']:.0f}/s",
                floor_target,
            )
        )
        rows.append(
            Row(
                f"smtp-ingest c={conns}",
                "serve / bare sink",
                got["serve"] / got["bare"],
                f"bare {got['bare']:.0f}/s",
            )
        )
        if "serve-workers" in got:
            rows.append(
                Row(
                    f"smtp-ingest c={conns}",
                    f"serve, {WORKERS} workers / floor",
                    got["serve-workers"] / got["floor"],
                    f"serve {got['serve-workers']:.0f}/s with [smtp] workers = {WORKERS}",
                    floor_target,
                )
            )
        if conns == 4 or not serve_c4:
            serve_c4 = got["serve"]
    rate = serve_c4 / 2
    lat: dict[str, tuple[float, float]] = {}
    for name in ("floor", "serve"):
        p50s, p99s = [], []
        with _target(name, root / "latency") as (port, _gateway):
            for r in range(rounds):
                mails = generate(max(50, n // 2), f"lat-{name}-r{r}")
                result = wire.send(port, mails, 4, rate=rate)
                p50s.append(percentile(result.latencies, 50))
                p99s.append(percentile(result.latencies, 99))
        lat[name] = (median(p50s), median(p99s))
    (s50, s99), (f50, f99) = lat["serve"], lat["floor"]
    where = f"at {rate:.0f}/s (half serve's c=4 max)"
    rows.append(
        Row(
            "latency p50",
            "serve / floor",
            s50 / f50,
            f"serve {s50 * 1e3:.1f} ms, floor {f50 * 1e3:.1f} ms {where}",
        )
    )
    rows.append(
        Row(
            "latency p99",
            "serve / floor",
            s99 / f99,
            f"serve {s99 * 1e3:.1f} ms, floor {f99 * 1e3:.1f} ms",
            "serve p99 ≤ 25 ms",
        )
    )
    return rows


def run_workers(root: Path, n: int, rounds: int, conns: int = 16) -> list[Row]:
    """`serve` on PostgreSQL (its defaults: fsync on), one process against `[smtp] workers`
    = cores: what every core buys where the store lets writers work side by side (SQLite
    takes one writer at a time, so there the workers wait on each other)."""
    cluster = PostgresCluster(durable=True).start()
    try:
        one = median(_rate("serve", root / "one", n, conns, rounds, cluster.new_database()))
        many = median(
            _rate("serve-workers", root / "many", n, conns, rounds, cluster.new_database())
        )
    finally:
        cluster.stop()
    return [
        Row(
            f"smtp-ingest c={conns} PostgreSQL",
            f"{WORKERS} workers / 1 worker",
            many / one,
            f"serve {one:.0f}/s with 1, {many:.0f}/s with {WORKERS} workers",
        )
    ]
