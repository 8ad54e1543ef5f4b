"""Outbox claims on the real database (SQLite, or PostgreSQL with TICKETGATE_TEST_DB)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway.domain import MailKind, OutgoingMail
from gateway.runtime.outbox_store import DatabaseOutboxStore
from storage.db import Database
from storage.repository import Outbox

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def queued(db_url: str, *message_ids: str, stale_after: int = 60) -> DatabaseOutboxStore:
    """A store with one acknowledgement queued per Message-ID, due at NOW."""
    db = Database.open(db_url)
    with db.transaction() as session:
        for mid in message_ids:
            mail = OutgoingMail(MailKind.ACKNOWLEDGEMENT, mid, "s@x.com", ("c@y.com",), b"x")
            Outbox(session).enqueue(mail, NOW)
    return DatabaseOutboxStore(db, stale_after=timedelta(seconds=stale_after))


def counts(store: DatabaseOutboxStore) -> dict[str, int]:
    with store.db.transaction() as session:
        return Outbox(session).counts()


def test_a_taken_over_claim_cannot_overwrite_the_new_owner(db_url: str) -> None:
    store = queued(db_url, "<a@x>", stale_after=45)
    [slow] = store.claim_due(NOW, 5)
    assert store.claim_due(NOW + timedelta(seconds=10), 5) == []  # claimed: nobody else
    [late] = store.claim_due(NOW + timedelta(seconds=46), 5)  # stale: taken over
    assert (slow.attempts, late.attempts) == (1, 2)
    store.mark_failed(slow, "timeout", NOW + timedelta(minutes=1))  # the old owner's verdict
    store.mark_sent(late, NOW + timedelta(seconds=47))
    assert counts(store) == {"sent": 1}
    assert store.claim_due(NOW + timedelta(hours=1), 5) == []  # sent once, never again
    store.db.close()


def test_a_claim_handed_back_is_queued_as_before_and_only_by_its_owner(db_url: str) -> None:
    store = queued(db_url, "<b@x>")
    [claimed] = store.claim_due(NOW, 5)
    store.release([claimed])  # a shutdown before its send
    [again] = store.claim_due(NOW, 5)
    assert again.attempts == 1  # handing back was no attempt
    [late] = store.claim_due(NOW + timedelta(seconds=61), 5)  # stale: taken over
    store.release([again])  # the old owner's hand-back changes nothing now
    store.mark_sent(late, NOW + timedelta(seconds=62))
    assert counts(store) == {"sent": 1}
    store.db.close()


def test_a_senders_own_claims_are_not_taken_as_stale_by_it(db_url: str) -> None:
    store = queued(db_url, "<c@x>", "<e@x>", "<d@x>")
    first, held = store.claim_due(NOW, 2)
    # The first send takes 90 s: the next claim, made while it is still on the wire, takes
    # the other mail and leaves this one and the one still in hand to their sender.
    later = NOW + timedelta(seconds=90)
    [third] = store.claim_due(later, 5, besides=(first.outbox_id, held.outbox_id))
    assert third.message_id == "<d@x>"
    store.mark_sent(first, NOW + timedelta(seconds=91))
    assert counts(store) == {"sent": 1, "sending": 2}
    # Another sender does take the one held that long: it looks like a dead sender's.
    [taken] = store.claim_due(later, 5)
    assert (taken.message_id, taken.attempts) == ("<e@x>", 2)
    store.db.close()


def test_a_hand_is_claimed_in_queue_order_and_is_nobody_elses(db_url: str) -> None:
    store = queued(db_url, *(f"<h{n}@x>" for n in range(5)))
    hand = store.claim_due(NOW, 3)
    assert [(m.message_id, m.attempts, m.content) for m in hand] == [
        (f"<h{n}@x>", 1, b"x") for n in range(3)
    ]
    assert hand[0].recipients == ("c@y.com",)
    rest = store.claim_due(NOW + timedelta(seconds=1), 5)  # another sender: only the others
    assert [m.message_id for m in rest] == ["<h3@x>", "<h4@x>"]
    assert store.claim_due(NOW + timedelta(seconds=2), 5) == []
    assert counts(store) == {"sending": 5}
    store.db.close()


def test_claims_a_crash_left_go_back_untried(db_url: str) -> None:
    """A hand a crashed sender held: its mails were never tried, so no backoff grows."""
    store = queued(db_url, "<k1@x>", "<k2@x>")
    store.claim_due(NOW, 5)
    assert store.release_own_claims() == 2
    assert [m.attempts for m in store.claim_due(NOW, 5)] == [1, 1]
    store.db.close()
