"""A host-wide readers-writer lock on one device, made of two advisory file locks.

Every runner process on a host (several runners, several orchestrators, the
`run-stage` command) opens the same two files in the lease directory, so the
lock covers them all, and the kernel releases it when a process dies: nothing
is left behind by a crash. `flock` gives shared and exclusive modes but no
queue, so a stream of overlapping shared holders could starve a writer
forever; the second file is a turnstile: a reader passes it on the way in, a
writer holds it while it waits, so readers that arrive after a waiting writer
queue behind it.

Waiting polls (non-blocking attempts with a short sleep) so that a cancelled
stage stops waiting at once.
"""
from __future__ import annotations

import fcntl
import os
import re
import time
from pathlib import Path
from typing import Callable

from ..cancel import CancelToken
from ..errors import Cancelled

POLL_SECONDS = 0.05
# Waits shorter than this (a reader passing the turnstile) are not worth a message.
REPORT_AFTER = 0.1


def _open(path: Path) -> int:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        os.fchmod(fd, 0o666)  # every user's runners share the device, whatever their umask
    except OSError:
        pass  # another user's file: it already has the mode its creator gave it
    return fd


def _try(fd: int, op: int) -> bool:
    try:
        fcntl.flock(fd, op | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def lock_files(directory: Path, device: str) -> tuple[Path, Path]:
    """(the lock, the turnstile) of a device in the lease directory."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", device)
    return directory / f"{safe}.lock", directory / f"{safe}.gate"


class HostLock:
    """Shared or exclusive hold on one device name, host-wide."""

    def __init__(self, directory: Path, device: str):
        main, gate = lock_files(directory, device)
        self._main = _open(main)
        self._gate = _open(gate)
        self.held: str | None = None

    def acquire(self, exclusive: bool, cancel: CancelToken, on_wait: Callable[[], None]) -> None:
        """Blocks until the lock is held; calls `on_wait` once if it waits longer than REPORT_AFTER.

        Raises:
            Cancelled: the stage was cancelled while waiting.
        """
        mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
        t0 = time.monotonic()
        reported = False

        def pause() -> None:
            nonlocal reported
            if not reported and time.monotonic() - t0 >= REPORT_AFTER:
                on_wait()
                reported = True
            if cancel.wait(POLL_SECONDS):
                raise Cancelled("the stage was cancelled while it waited for a device")

        while True:
            if _try(self._gate, fcntl.LOCK_EX):
                if _try(self._main, mode):
                    fcntl.flock(self._gate, fcntl.LOCK_UN)
                    break
                if exclusive:
                    # Hold the turnstile: no new reader gets in while the current ones finish.
                    try:
                        while not _try(self._main, fcntl.LOCK_EX):
                            pause()
                    finally:
                        fcntl.flock(self._gate, fcntl.LOCK_UN)
                    break
                fcntl.flock(self._gate, fcntl.LOCK_UN)
            pause()
        self.held = "exclusive" if exclusive else "shared"

    def release(self) -> None:
        if self.held:
            fcntl.flock(self._main, fcntl.LOCK_UN)
            self.held = None

    def close(self) -> None:
        self.release()
        os.close(self._main)
        os.close(self._gate)
