"""Leases on the real store: one holder at a time, freed when the holder dies.

Runs on SQLite (a lock file) and on PostgreSQL (an advisory lock), whichever
the suite is on; the dead holder is a real process killed with SIGKILL.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from storage.db import make_engine
from storage.leases import Lease
from tests.support.waiting import wait_for

HOLDER = """
import sys, time
from pathlib import Path
from storage.db import make_engine
from storage.leases import Lease
lease = Lease(make_engine(sys.argv[1]), "scheduler", Path(sys.argv[2]))
assert lease.try_acquire()
print("held", flush=True)
time.sleep(600)
"""


def test_one_holder_at_a_time_and_release_hands_it_over(db_url: str, tmp_path: Path) -> None:
    engine = make_engine(db_url)
    first = Lease(engine, "scheduler", tmp_path)
    second = Lease(engine, "scheduler", tmp_path)
    other_job = Lease(engine, "imap:suporte@imap.example.com/INBOX", tmp_path)
    assert first.try_acquire()
    assert first.try_acquire()  # holding it is not losing it
    assert not second.try_acquire()
    assert other_job.try_acquire()  # leases of other jobs are independent
    first.release()
    assert second.try_acquire()
    assert not first.try_acquire()
    second.release()
    other_job.release()
    engine.dispose()


def test_a_holder_that_dies_frees_the_lease(db_url: str, tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, db_url, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        engine = make_engine(db_url)
        successor = Lease(engine, "scheduler", tmp_path)
        assert not successor.try_acquire()
        holder.kill()
        holder.wait(30)
        wait_for(successor.try_acquire, 20, "the dead holder's lease to be free")
        successor.release()
        engine.dispose()
    finally:
        if holder.poll() is None:
            holder.kill()
