"""Retention (LGPD): raw mail and attachments of tickets closed long ago are deleted.

`[retention] closed_ticket_days = N` keeps a closed ticket's files for N days
after it closed; then its raw messages and attachments leave the blob store
(a file another, younger ticket still names stays). The tickets, their
messages' text and the receipts stay: what was decided and said is still on
record, the bytes are not. `ticketgate purge [--dry-run]` runs it by hand; the
scheduler runs it once an hour when it is configured.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from storage.blobs import BlobStore
from storage.db import Database
from storage.retention import RetentionIndex, StoredFile


@dataclass(frozen=True)
class Expired:
    """One file past retention, with its size (what a dry run lists)."""

    file: StoredFile
    size: int


class Retention:
    def __init__(self, db: Database, blobs: BlobStore, closed_ticket_days: int | None) -> None:
        self.db = db
        self.blobs = blobs
        self.days = closed_ticket_days

    @property
    def enabled(self) -> bool:
        return self.days is not None

    def expired(self, now: datetime) -> list[Expired]:
        """The files still on disk of tickets closed more than the configured days ago."""
        if self.days is None:
            return []
        with self.db.transaction() as session:
            files = RetentionIndex(session).closed_before(now - timedelta(days=self.days))
        return [Expired(f, self.blobs.size(f.sha256)) for f in files if self.blobs.exists(f.sha256)]

    def purge(self, now: datetime) -> list[Expired]:
        """Delete what `expired` lists; returns what was deleted."""
        gone = []
        for item in self.expired(now):
            if self.blobs.delete(item.file.sha256):
                gone.append(item)
        return gone
