"""The suite's results: one row per figure, printed as a table at the end."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    benchmark: str
    figure: str  # what the ratio is of, against what
    ratio: float | None
    absolute: str  # for information only: absolute numbers vary with the machine
    target: str = ""

    @property
    def verdict(self) -> str:
        return ""


def median(samples: Sequence[float]) -> float:
    return statistics.median(samples)


def percentile(samples: Sequence[float], p: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def render(rows: Sequence[Row]) -> str:
    head = ("benchmark", "figure", "ratio", "absolute (information)", "target")
    body = [
        (r.benchmark, r.figure, "—" if r.ratio is None else f"{r.ratio:.2f}", r.absolute, r.target)
        for r in rows
    ]
    widths = [max(len(str(line[i])) for line in (head, *body)) for i in range(len(head))]
    lines = [
        " | ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True))
        for line in (head, *body)
    ]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)
