"""Hostile and broken mail through the real intake and store: every message ends in a
defined outcome, no exception escapes, the raw bytes are always kept (issue 12, item 8).

Mutated real-client mail (tests/fuzz/mutations.py) goes through `Intake.receive`
on the test's store (SQLite, or PostgreSQL with TICKETGATE_TEST_DB=postgresql),
then a smaller run goes over SMTP to `ticketgate serve`. Each prints its summary
line. `TICKETGATE_FUZZ_EXAMPLES` sets the in-process run's size (default 150,
about 30 s per store; the README quotes a 2,000-message run); the SMTP run is a
fifth of it (at least 20).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from sqlalchemy import or_, select

from gateway.config.settings import load_settings
from gateway.domain import Outcome
from gateway.intake.use_case import Receipt
from gateway.runtime.app import Gateway, build
from storage.models import ReceiptRow
from tests.fuzz.mutations import hostile_mail
from tests.support.gateway_process import SECRET, GatewayConfig, ServeProcess
from tests.support.sink import SmtpSink

EXAMPLES = int(os.environ.get("TICKETGATE_FUZZ_EXAMPLES", "150"))
OVER_SMTP = max(EXAMPLES // 5, 20)
RUN = settings(
    deadline=None,
    derandomize=False,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
        HealthCheck.function_scoped_fixture,
    ],
)


def kept(gateway: Gateway, raw: bytes, receipt: Receipt) -> bool:
    """The raw bytes are in the blob store and a receipt stands for the message."""
    sha = hashlib.sha256(raw).hexdigest()
    if not gateway.intake.blobs.exists(sha):
        return False
    with gateway.db.transaction() as session:
        named = [ReceiptRow.raw_sha256 == sha]
        if receipt.message_id:
            named.append(ReceiptRow.message_id == receipt.message_id)
        return session.scalar(select(ReceiptRow.id).where(or_(*named)).limit(1)) is not None


def test_hostile_mail_through_the_intake_ends_in_a_defined_outcome(
    gateway_config: GatewayConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TICKETGATE_SECRET", SECRET)
    gateway = build(load_settings(gateway_config.path))
    counts: Counter[str] = Counter()

    @settings(RUN, max_examples=EXAMPLES)
    @given(hostile_mail())
    def one(raw: bytes) -> None:
        counts["messages"] += 1
        try:
            receipt = gateway.intake.receive(raw, None, "fuzz")
        except Exception:
            counts["unhandled"] += 1
            raise
        counts[receipt.outcome.value] += 1
        assert isinstance(receipt.outcome, Outcome)
        if not kept(gateway, raw, receipt):
            counts["lost"] += 1
            raise AssertionError(f"message {receipt} not kept")

    try:
        one()
    finally:
        gateway.close()
        outcomes = ", ".join(f"{o.value} {counts[o.value]}" for o in Outcome if counts[o.value])
        print(
            f"\nfuzz: {counts['messages']} messages, {counts['unhandled']} unhandled, "
            f"{counts['lost']} lost ({outcomes})"
        )
    assert counts["unhandled"] == counts["lost"] == 0


def wire(raw: bytes) -> bytes:
    """What smtplib puts on the wire for `raw`: CRLF line ends, a final CRLF."""
    raw = re.sub(rb"\r\n|\r|\n", b"\r\n", raw)
    return raw if raw.endswith(b"\r\n") else raw + b"\r\n"


@pytest.mark.e2e
def test_hostile_mail_over_smtp_is_answered_and_kept(tmp_path: Path, db_url: str) -> None:
    """Over the wire every answer is 250 (kept), or a refusal the client keeps the mail
    for (500 line too long, 552 too big); never 451, never a dropped connection."""
    # A relay of its own: the shared sink fixture checks pt_BR wording, and acks here
    # quote English fixtures' subjects back to their senders.
    relay = SmtpSink().start()
    gateway_config = GatewayConfig(tmp_path / "gw", db_url, relay.port)
    gateway_config.write()
    serve = ServeProcess(gateway_config).start()
    counts: Counter[str] = Counter()

    @settings(RUN, max_examples=OVER_SMTP)
    @given(hostile_mail())
    def one(raw: bytes) -> None:
        counts["messages"] += 1
        code, answer = serve.send(wire(raw), "fuzz@fuzz.test", "suporte@example.com")
        counts[str(code)] += 1
        assert code in (250, 500, 552), (code, answer)
        if code == 250:
            blob = gateway_config.folder / "data" / "blobs"
            sha = hashlib.sha256(wire(raw)).hexdigest()
            if not (blob / sha[:2] / sha[2:4] / sha).exists():
                counts["lost"] += 1
                raise AssertionError(f"accepted but not kept: {answer!r}")

    try:
        one()
    finally:
        serve.stop()
        relay.stop()
        print(
            f"\nfuzz over SMTP: {counts['messages']} messages, {counts['250']} accepted, "
            f"{counts['500'] + counts['552']} refused, {counts['lost']} lost"
        )
    assert "Traceback" not in serve.log()
