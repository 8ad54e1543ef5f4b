"""Retention (LGPD): raw mail and attachments of tickets closed long ago are deleted, and
held mail an admin released or dropped long ago with its raw bytes and attachment files.

`[retention] closed_ticket_days = N` keeps a closed ticket's files for N days
after it closed, and a held mail for N days after an admin settled it; then its
raw messages and attachments leave the blob store (a file another, younger
ticket or held mail still names stays) and the held mail leaves the quarantine
list. A mail still held stays with its bytes: it waits for an admin. The
tickets, their messages' text and the receipts stay: what was decided and said
is still on record, the bytes are not. `ticketgate purge [--dry-run]` runs it by
hand; the scheduler runs it once an hour when it is configured.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from storage.blobs import BlobStore
from storage.db import Database
from storage.flow import QuarantineStore
from storage.retention import RetentionIndex, StoredFile


@dataclass(frozen=True)
class Expired:
    """One file past retention, with its size (what a dry run lists)."""

    file: StoredFile
    size: int


@dataclass(frozen=True)
class Purge:
    """What retention lets go at one instant: files, and settled held mail (whose rows go
    even when a file of theirs stays, named by a younger ticket)."""

    files: list[Expired]
    held: int


class Retention:
    def __init__(self, db: Database, blobs: BlobStore, closed_ticket_days: int | None) -> None:
        self.db = db
        self.blobs = blobs
        self.days = closed_ticket_days

    @property
    def enabled(self) -> bool:
        return self.days is not None

    def expired(self, now: datetime) -> Purge:
        """The files still on disk past retention, and the settled held mail to forget."""
        if self.days is None:
            return Purge([], 0)
        cutoff = now - timedelta(days=self.days)
        with self.db.transaction() as session:
            files = RetentionIndex(session).expired_before(cutoff)
            held = QuarantineStore(session).count_settled_before(cutoff)
        on_disk = [f for f in files if self.blobs.exists(f.sha256)]
        return Purge([Expired(f, self.blobs.size(f.sha256)) for f in on_disk], held)

    def purge(self, now: datetime) -> Purge:
        """Delete what `expired` lists: the files first, then the held mail's rows (a run
        cut short between the two leaves rows that the next run deletes)."""
        if self.days is None:
            return Purge([], 0)
        gone = [item for item in self.expired(now).files if self.blobs.delete(item.file.sha256)]
        with self.db.transaction() as session:
            held = QuarantineStore(session).forget_settled_before(now - timedelta(days=self.days))
        return Purge(gone, held)
