"""Column-sized text: PostgreSQL enforces lengths, the raw mail keeps the whole."""

from __future__ import annotations


def fit(text: str, limit: int) -> str:
    """Column-sized text (PostgreSQL enforces lengths); the raw mail keeps the whole."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
