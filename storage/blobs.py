"""Content-addressed files on disk: raw inbound mail and attachments.

Every accepted message's original bytes stay recoverable by sha256 under
`data_dir`. A blob is written to a temporary file, fsynced and renamed into
place before the transaction that names it commits, so the database never
points at bytes that a crash could have lost.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import IO

_CHUNK = 1 << 20


class BlobStore:
    """Immutable files named by the sha256 of their content."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._made: set[Path] = set()  # folders known to exist: a mkdir is a syscall

    def _ensure(self, folder: Path) -> None:
        if folder not in self._made:
            folder.mkdir(parents=True, exist_ok=True)
            self._made.add(folder)

    def _temp(self, folder: Path) -> tuple[int, str]:
        """A new temporary file in `folder`, made first unless known to exist."""
        try:
            self._ensure(folder)
            return tempfile.mkstemp(dir=folder, prefix=".tmp-")
        except OSError:
            self._made.clear()  # someone removed folders: the next try makes them again
            raise

    def path_for(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, content: bytes) -> str:
        """Store `content` durably (idempotent) and return its sha256."""
        digest = hashlib.sha256(content).hexdigest()
        target = self.path_for(digest)
        if target.exists():
            return digest
        fd, tmp = self._temp(target.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
                handle.flush()
                # No loss: an attachment's bytes are on disk before the commit naming them.
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _fsync_dir(target.parent)
        return digest

    def put_stream(self, source: IO[bytes]) -> tuple[str, int]:
        """Store what `source` holds from its current position, copied in chunks and
        hashed on the way (a big message is never one buffer); its sha256 and size."""
        digest = hashlib.sha256()
        size = 0
        fd, tmp = self._temp(self.root)
        try:
            with os.fdopen(fd, "wb") as handle:
                while chunk := source.read(_CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                    handle.write(chunk)
                handle.flush()
                # No loss ("250 only after the raw message is durably committed"): the raw
                # bytes are on disk before the commit that records the message.
                os.fsync(handle.fileno())
            target = self.path_for(digest.hexdigest())
            if target.exists():
                Path(tmp).unlink()
                return digest.hexdigest(), size
            self._ensure(target.parent)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            self._made.clear()
            raise
        _fsync_dir(target.parent)
        return digest.hexdigest(), size

    def get(self, sha256: str) -> bytes:
        return self.path_for(sha256).read_bytes()

    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).exists()

    def delete(self, sha256: str) -> bool:
        """Remove a blob for good (retention); False when it was already gone."""
        try:
            self.path_for(sha256).unlink()
        except FileNotFoundError:
            return False
        return True

    def size(self, sha256: str) -> int:
        return self.path_for(sha256).stat().st_size


def _fsync_dir(path: Path) -> None:
    """The same promise for the name: a renamed file is only findable after a crash once
    its directory is synced (the rename lives in the directory, not in the file)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
