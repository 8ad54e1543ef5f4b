"""Where `ingest` reads mail from: an .eml file, a Maildir, an mbox, or stdin.

Raw bytes are read as bytes (never decoded) and yielded one message at a
time, so a large mbox streams with bounded memory.
"""

from __future__ import annotations

import mailbox
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class MessageSource:
    label: str
    kind: str  # "eml", "maildir", "mbox" or "stdin"
    path: Path | None
    count: int

    def messages(self) -> Iterator[bytes]:
        if self.kind == "stdin":
            yield sys.stdin.buffer.read()
        elif self.kind == "eml":
            assert self.path is not None
            yield self.path.read_bytes()
        elif self.kind == "maildir":
            assert self.path is not None
            box = mailbox.Maildir(self.path, factory=None, create=False)
            for key in sorted(box.keys()):
                yield box.get_bytes(key)
        else:
            assert self.path is not None
            mbox = mailbox.mbox(self.path, factory=None, create=False)
            for key in mbox.iterkeys():
                yield mbox.get_bytes(key)


def open_sources(paths: Sequence[Path]) -> list[MessageSource]:
    """Recognize each path's kind; unreadable paths fail early with what to do."""
    sources = []
    for path in paths:
        if str(path) == "-":
            sources.append(MessageSource("stdin", "stdin", None, 1))
        elif path.is_dir():
            if not (path / "cur").is_dir() and not (path / "new").is_dir():
                raise SystemExit(f"{path}: a folder must be a Maildir (with cur/ and new/)")
            count = len(mailbox.Maildir(path, factory=None, create=False))
            sources.append(MessageSource(str(path), "maildir", path, count))
        elif path.is_file():
            with path.open("rb") as handle:
                head = handle.read(5)
            if head == b"From ":
                count = len(mailbox.mbox(path, factory=None, create=False))
                sources.append(MessageSource(str(path), "mbox", path, count))
            else:
                sources.append(MessageSource(str(path), "eml", path, 1))
        else:
            raise SystemExit(f"{path}: no such file or folder")
    return sources
