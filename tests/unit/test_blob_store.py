"""The blob store on a real folder: it remembers which folders it made, and forgets
them when the disk says otherwise."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from storage.blobs import BlobStore


def test_a_removed_folder_fails_one_write_and_is_made_again_by_the_next(tmp_path: Path) -> None:
    root = tmp_path / "blobs"
    store = BlobStore(root)
    first, _ = store.put_stream(io.BytesIO(b"first mail"))
    shutil.rmtree(root)  # an operator restoring a backup, a cleanup gone too far
    with pytest.raises(FileNotFoundError):
        store.put_stream(io.BytesIO(b"second mail"))  # answered 451 upstream, never lost
    second, size = store.put_stream(io.BytesIO(b"second mail"))
    assert (store.get(second), size) == (b"second mail", 11)
    assert store.put(b"an attachment") and not store.exists(first)


def test_the_same_bytes_are_stored_once(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    a, _ = store.put_stream(io.BytesIO(b"same"))
    b, _ = store.put_stream(io.BytesIO(b"same"))
    assert a == b == store.put(b"same")
    assert [p.name for p in (tmp_path / "blobs").rglob("*") if p.is_file()] == [a]
