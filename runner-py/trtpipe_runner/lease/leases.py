"""A stage's leases on the devices it uses: taken in one order, recorded, given back.

Ordinary stages hold every device they use in shared mode for their whole run,
so any number of them run side by side; a stage that times something (a
benchmark; a TensorRT build, whose tactic selection is a measurement) holds
the measured device exclusively. The leases are host-wide (host_lock.py).

Devices are always taken in the same order (the host CPU first, then GPUs by
name) and all at the start of a stage, so two stages can never each hold what
the other waits for.

`TRTPIPE_DEVICE_LEASE=off` turns enforcement off (bench/exclusivity_cost uses
it to measure what exclusivity costs); the leases are still recorded, marked
`enforced: false`, so a report can say its latencies were not protected.
`TRTPIPE_LEASE_DIR` names the directory of the lock files (default: a shared
folder in the system's temporary directory); runners in containers that share
a device must share it (a hostPath volume on Kubernetes).
"""
from __future__ import annotations

import os
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from ..cancel import CancelToken
from ..errors import UserError
from .host_lock import HostLock


@dataclass(frozen=True)
class DeviceNeed:
    """One device a stage uses, and whether it measures on it."""

    device: str  # "cpu@<host>" or "gpu:<uuid>@<host>"
    exclusive: bool


@dataclass
class Lease:
    """A lease as it happened. Times are seconds since the epoch, on the runner's clock."""

    device: str
    exclusive: bool
    holder: str
    requested_at: float
    acquired_at: float = 0.0
    released_at: float = 0.0
    enforced: bool = True
    # Who held the device when this lease had to wait (stages of this process by name).
    waited_for: list[str] = field(default_factory=list)

    @property
    def wait_seconds(self) -> float:
        return max(0.0, self.acquired_at - self.requested_at) if self.acquired_at else 0.0

    def to_json(self) -> dict:
        return {"device": self.device, "mode": "exclusive" if self.exclusive else "shared", "holder": self.holder,
                "requested_at": self.requested_at, "acquired_at": self.acquired_at, "released_at": self.released_at,
                "wait_seconds": round(self.wait_seconds, 6), "enforced": self.enforced, "waited_for": self.waited_for}


def enforced() -> bool:
    return os.environ.get("TRTPIPE_DEVICE_LEASE", "on").strip().lower() not in ("off", "0", "false", "no")


def lease_dir() -> Path:
    """The folder of the lock files; UserError when it cannot be used (leases would protect nothing)."""
    d = Path(os.environ.get("TRTPIPE_LEASE_DIR") or Path(tempfile.gettempdir()) / "trtpipe-device-leases")
    try:
        if not d.is_dir():
            d.mkdir(parents=True, exist_ok=True)
            try:
                os.chmod(d, 0o1777)  # shared by every user's runners, like /tmp itself
            except OSError:
                pass
        if not os.access(d, os.W_OK | os.X_OK):
            raise PermissionError(f"no write access to {d}")
    except OSError as exc:
        raise UserError(f"the runner cannot use its device lease folder {d} ({exc}); set TRTPIPE_LEASE_DIR to a "
                        "folder every runner on this host can write (or TRTPIPE_DEVICE_LEASE=off to measure "
                        "without exclusive devices)", code="LEASE_DIR_UNUSABLE") from None
    return d


class _Holders:
    """Stages of this process that hold (or wait for) each device: for messages and provenance."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_device: dict[str, dict[int, Lease]] = {}

    def add(self, lease: Lease) -> None:
        """Registers a lease that waits or holds (acquired_at tells which)."""
        with self._lock:
            self._by_device.setdefault(lease.device, {})[id(lease)] = lease

    def remove(self, lease: Lease) -> None:
        with self._lock:
            self._by_device.get(lease.device, {}).pop(id(lease), None)

    def others(self, me: Lease, held_only: bool = False) -> list[str]:
        """Stages other than `me` that hold (or, unless `held_only`, wait for) its device,
        e.g. "benchmark@fp32-cpu (exclusive)"."""
        with self._lock:
            entries = list(self._by_device.get(me.device, {}).values())
        return sorted(_describe(x) for x in entries if x is not me and (x.acquired_at or not held_only))


def _describe(lease: Lease) -> str:
    notes = (["exclusive"] if lease.exclusive else []) + ([] if lease.acquired_at else ["waiting"])
    return f"{lease.holder} ({', '.join(notes)})" if notes else lease.holder


HOLDERS = _Holders()


@contextmanager
def hold(needs: list[DeviceNeed], holder: str, cancel: CancelToken,
         on_event: Callable[[Lease], None] = lambda lease: None) -> Iterator[list[Lease]]:
    """Holds every device in `needs` for the body of the `with`.

    Args:
        needs: the devices and modes (an exclusive need wins over a shared one for the same device).
        holder: who holds them, for messages ("benchmark@fp32-cpu").
        cancel: stops the wait (Cancelled) when the stage is cancelled.
        on_event: called when a lease starts waiting (acquired_at == 0) and when it is acquired.
    Yields:
        the leases, in acquisition order; released_at is set on exit.
    """
    merged: dict[str, bool] = {}
    for n in needs:
        merged[n.device] = merged.get(n.device, False) or n.exclusive
    order = sorted(merged, key=lambda d: (not d.startswith("cpu"), d))
    leases: list[Lease] = []
    locks: list[HostLock] = []
    on = enforced()
    directory = lease_dir() if on else None
    try:
        for device in order:
            lease = Lease(device, merged[device], holder, time.time(), enforced=on)
            leases.append(lease)
            if directory is not None:
                lock = HostLock(directory, device)
                locks.append(lock)

                def waiting(lease: Lease = lease) -> None:
                    lease.waited_for = HOLDERS.others(lease) or ["another process"]
                    HOLDERS.add(lease)
                    on_event(lease)

                lock.acquire(lease.exclusive, cancel, waiting)
            lease.acquired_at = time.time()
            HOLDERS.add(lease)
            if lease.waited_for:
                on_event(lease)
        yield leases
    finally:
        # Read before unlocking: the next holder's acquired_at must not come before our released_at.
        now = time.time()
        for lock in reversed(locks):
            lock.close()
        for lease in leases:
            if lease.acquired_at:
                lease.released_at = now
            HOLDERS.remove(lease)
