"""`serve` on every core: a small supervisor and its SMTP worker processes.

With `[smtp] workers = N` above 1, `serve` runs no gateway itself: it reserves
the SMTP port (a SO_REUSEPORT socket bound, never listening, so port 0 is
picked once and the port stays ours across restarts), starts N copies of
`ticketgate serve` as workers (hidden options: their number, the supervisor's
pid, the port), and reports ready once each has said, by one line on its
stdout, that it listens. The kernel spreads connections over the listening
workers (socket(7), SO_REUSEPORT). Each worker is a whole gateway on the same
store; the outbox sender and the scheduler run in the one holding their lease
(leadership.py, scheduler.py), the customer pages in worker 1 only, so their
rate limits and /metrics stay those of one process.

SIGTERM/SIGINT go to every worker, which drains as a lone `serve` does; a
worker that dies is started again; one that cannot start ends `serve` with its
exit code instead of a restart loop: at once for a refused file (exit 2), after
three tries in a row otherwise. Workers die with the supervisor even when it is
SIGKILLed (prctl(2) PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass

from gateway.config.settings import Settings
from gateway.runtime.leadership import hold_sqlite_lock
from storage.db import Database

log = logging.getLogger("ticketgate")

READY_LINE = b"listening\n"  # what a worker prints on its stdout once it accepts mail
TRIES_AT_START = 3  # a worker failing this many times in a row before listening ends serve
REFUSED = 2  # the exit code of a `serve` that refused a file (or its command line): final
STOP_DEADLINE = 9.5  # seconds from SIGTERM until stragglers are killed: within the 10 promised
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


@dataclass(frozen=True)
class WorkerRole:
    """What makes one `serve` process a supervisor's worker."""

    number: int  # 1..N, kept across restarts; shown on each log line
    supervisor: int  # the supervisor's pid
    port: int  # the SMTP port the supervisor reserved

    @property
    def is_first(self) -> bool:
        """Worker 1 alone serves the customer pages, /healthz and /metrics (one process's
        rate limits and figures) and mails the admins about a refused edit (one mail)."""
        return self.number == 1

    def follow_supervisor(self) -> None:
        """Die with the supervisor: the kernel sends SIGTERM when it ends, however it ends
        (prctl(2) PR_SET_PDEATHSIG); elsewhere a thread watches the parent's pid."""
        if sys.platform.startswith("linux"):
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
                raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
        else:  # pragma: no cover - the gateway is deployed on Linux
            _watch_parent(self.supervisor)
        if os.getppid() != self.supervisor:  # it died before the death signal was armed
            raise SystemExit(f"worker {self.number}: the supervisor is gone")

    def announce(self, host: str, port: int) -> None:
        """Tell the supervisor this worker listens (one line on the stdout it reads)."""
        sys.stdout.buffer.write(READY_LINE)
        sys.stdout.buffer.flush()


def _watch_parent(parent: int) -> None:
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def reserve_port(host: str, port: int) -> socket.socket:
    """Bind host:port with SO_REUSEPORT and never listen: the port (picked here when it is
    0) stays this supervisor's for its workers to share, and a port some other program
    holds is refused here, before any worker starts."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock


@dataclass
class _Slot:
    number: int
    process: asyncio.subprocess.Process | None = None
    failures: int = 0  # exits in a row before listening


class Supervisor:
    """Keeps N workers running until asked to stop; see the module's docstring."""

    def __init__(
        self,
        count: int,
        command: Callable[[WorkerRole], list[str]],
        host: str,
        port: int,
        ready: Callable[[str, int], None] | None,
    ) -> None:
        self.command = command
        self.host = host
        self.port = port
        self.ready = ready
        self.slots = [_Slot(n) for n in range(1, count + 1)]
        self.stop = asyncio.Event()
        self.exit_code = 0
        self._listened: set[int] = set()  # workers that have listened since the start

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop.set)
        keepers = [asyncio.create_task(self._keep(slot)) for slot in self.slots]
        for keeper in keepers:
            keeper.add_done_callback(self._kept)
        await self.stop.wait()
        log.info("stopping: asking %d worker(s) to finish", len(self.slots))
        self._signal_all(signal.SIGTERM)
        _, late = await asyncio.wait(keepers, timeout=STOP_DEADLINE)
        if late:
            log.warning("%d worker(s) still running at the deadline: killed", len(late))
            self._signal_all(signal.SIGKILL)
            await asyncio.wait(late)
        log.info("stopped")
        return self.exit_code

    def _kept(self, keeper: asyncio.Task[None]) -> None:
        """A keeper that failed (no process could be started at all) stops `serve`."""
        if not keeper.cancelled() and (error := keeper.exception()) is not None:
            log.error("could not run a worker: %s; stopping", error, exc_info=error)
            self.exit_code = self.exit_code or 1
            self.stop.set()

    def _signal_all(self, sig: signal.Signals) -> None:
        for slot in self.slots:
            if slot.process is not None and slot.process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    slot.process.send_signal(sig)

    async def _keep(self, slot: _Slot) -> None:
        """Run worker `slot.number` until the supervisor stops, starting it again when it
        dies; give up (and stop everything) when it cannot start."""
        while not self.stop.is_set():
            process = await asyncio.create_subprocess_exec(
                *self.command(WorkerRole(slot.number, os.getpid(), self.port)),
                stdout=asyncio.subprocess.PIPE,
                start_new_session=True,  # a terminal's Ctrl-C reaches the supervisor alone
            )
            slot.process = process
            if self.stop.is_set():  # the stop came while it was being started
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(signal.SIGTERM)
            assert process.stdout is not None
            listening = await process.stdout.readline() == READY_LINE
            if listening:
                slot.failures = 0
                self._listening(slot)
                await process.stdout.read()  # nothing more is said; EOF when it exits
            code = await process.wait()
            if self.stop.is_set():
                return
            if not listening:
                slot.failures += 1
                if code == REFUSED or slot.failures >= TRIES_AT_START:
                    log.error(
                        "worker %d could not start (%s; its error is above): stopping",
                        slot.number,
                        _how(code),
                    )
                    self.exit_code = code if code > 0 else 1
                    self.stop.set()
                    return
            log.warning(
                "worker %d (pid %d) %s; starting it again", slot.number, process.pid, _how(code)
            )
            if slot.failures:  # 0.5 s, 1 s, ... between tries that did not come up
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stop.wait(), 0.5 * 2 ** (slot.failures - 1))

    def _listening(self, slot: _Slot) -> None:
        """Count a worker in; ready once every one of them has listened."""
        if len(self._listened) == len(self.slots):  # ready was said; this one restarted
            return
        self._listened.add(slot.number)
        if len(self._listened) == len(self.slots):
            log.info("%d workers receiving mail on %s:%d", len(self.slots), self.host, self.port)
            if self.ready:
                self.ready(self.host, self.port)


def _how(code: int) -> str:
    """A worker's end in words: its exit code, or the signal that killed it."""
    if code < 0:
        return f"was killed by {signal.Signals(-code).name}"
    return f"exited with code {code}"


def supervise(
    settings: Settings,
    command: Callable[[WorkerRole], list[str]],
    ready: Callable[[str, int], None] | None = None,
) -> int:
    """Run `settings`' workers until SIGTERM/SIGINT; the exit code of `serve`."""
    lock = hold_sqlite_lock(settings)  # the workers share it: they are this one `serve`
    smtp = settings.file.smtp
    reserved = reserve_port(smtp.host, smtp.port)
    try:
        # Migrate (and on SQLite, switch to WAL) once, here: N workers opening a new store
        # at once would race for it ("database is locked").
        Database.open(settings.storage_url).close()
        port = int(reserved.getsockname()[1])
        supervisor = Supervisor(smtp.processes(), command, smtp.host, port, ready)
        return asyncio.run(supervisor.run())
    finally:
        reserved.close()
        if lock is not None:
            os.close(lock)
